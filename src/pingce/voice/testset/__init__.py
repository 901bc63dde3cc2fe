"""The offline test set: bona fide klettres recordings, TTS and vocoder spoofs, codec chains."""
