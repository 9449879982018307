"""Core: settings, event schemas and adapters (bus, index, blobs, db).

core imports no other package of this project and knows no domain rules.
"""
