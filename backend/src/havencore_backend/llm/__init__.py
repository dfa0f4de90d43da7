"""The chat side of the backend: engines (llama.cpp, vLLM, any OpenAI-compatible upstream) and the chat service."""
