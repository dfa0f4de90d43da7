"""Stands in for ``vllm serve`` in tests: prints the command line it got, then becomes ``llama_cpp.server``.

vLLM needs a CUDA GPU; its HTTP side is OpenAI-compatible, which ``llama_cpp.server`` is too.
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> None:
    """Parses the vLLM arguments the backend passes and execs llama.cpp's server with the matching ones.

    llama.cpp's server would abort a generation whenever another request (a health probe) arrives; vLLM does not.
    """
    print("vllm stand-in argv:", " ".join(sys.argv[1:]), flush=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("model")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", required=True)
    parser.add_argument("--served-model-name", required=True)
    known, _ = parser.parse_known_args()
    os.execv(
        sys.executable,
        [sys.executable, "-m", "llama_cpp.server", "--model", known.model, "--model_alias", known.served_model_name,
         "--host", known.host, "--port", known.port, "--n_ctx", "2048", "--interrupt_requests", "False"],
    )  # fmt: skip


if __name__ == "__main__":
    main()
