"""Conversation history (PostgreSQL or SQLite) and semantic memory (Qdrant), each behind a small interface."""
