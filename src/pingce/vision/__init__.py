"""The vision standard: vision models and platforms (model quality, industrial defects,
continual learning, high-speed frame streams). Registration lives in `pingce.vision.plugin`."""
