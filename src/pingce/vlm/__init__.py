"""Visual large models: image-and-text metrics, the logistics-park item generator and
readers of the public benchmarks' release layouts (issue #20)."""
