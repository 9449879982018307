"""Bundled demo: media, a web page, a comment feed and a negative list, made on the fly."""
