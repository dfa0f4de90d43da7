"""The voice half of the backend: speech services over the engines, and their Wyoming servers."""
