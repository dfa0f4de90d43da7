"""The HTTP API: OpenAI-compatible routes and HavenCore's own."""
