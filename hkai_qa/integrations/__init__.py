"""Adapters that plug hkai-qa into other frameworks; each needs its own extra (`pip install 'hkai-qa[langchain]'`)."""
