"""The built-in synthesizer: music from the request's words, rendered with numpy and encoded by LAME."""
