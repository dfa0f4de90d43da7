"""The demo home: a real Home Assistant talking to a real HavenCore backend, set up once and reused.

``python -m demo`` (what ``scripts/demo`` runs) starts it; the end-to-end tests reuse the same functions.
"""
