"""Export trained models for deployment without PyTorch (issue #8).

- :mod:`aslrec.export.onnx_export` (needs torch, onnx and onnxruntime): ``aslrec export`` turns
  a run directory into a self-describing ONNX file (fp32 or int8) and proves it computes the
  same logits as the PyTorch model.
- :mod:`aslrec.inference.onnx_backend` (needs onnxruntime only, never torch): runs such a file as
  an inference backend (``aslrec predict --backend onnx``).

This package's ``__init__`` imports nothing, so importing the backend stays torch-free.
"""
