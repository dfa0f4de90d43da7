"""Text embeddings: one engine per runtime (ONNX on CPUs, sentence-transformers on GPUs) behind one interface."""
