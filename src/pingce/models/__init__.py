"""pingce's shared model runtime, used by the standards and never importing one.

- `onnx_runtime`: `ort_session`, the one place ONNX Runtime sessions are built (providers,
  threads, graph optimisation, a one-line `SessionError` for a file ORT cannot load);
- `torch_loader`: `load_torch`, the one torch loader (state dict into an eager architecture,
  TorchScript, `torch.export` .pt2; the format is read from the file's content);
- `zoo`: the built-in model zoo (one digits CNN, a small ResNet, a transformer encoder, an LSTM,
  a model with a custom operator), built offline from fixed seeds;
- `loaded`: model references (`zoo:`, `onnx:`, `torchscript:`, `export:`, `state:`) loaded
  behind one `run(feeds) -> outputs` interface;
- `datasets`: input data for comparing models (NPZ files, the zoo's own data);
- `converters`: torch → ONNX export, ONNX opset conversion, the ORT-optimised graph;
- `latency`: two models timed alternately, with the speed-up's bootstrap CI;
- `weight_only`, `weight_only_kernels`: weight-only INT8/INT4 linear layers (the HF backend runs
  a `pingce compress llm` folder on these kernels).

Importing this package imports nothing heavy; each module imports torch/onnx when used.
"""
