"""Auto-labelers: the reference ones pingce ships and adapters for any ONNX detector or
Label Studio ML backend. `resolve_labeler(spec)` turns a spec string into a `Labeler`."""
