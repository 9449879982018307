.PHONY: setup demo test lint bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/qinglang demo

test:
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy core detectors stream_jobs complaints console ingest qinglang

bench: setup
	.venv/bin/qinglang bench all
