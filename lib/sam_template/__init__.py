"""Reads template.yaml as written (CloudFormation YAML) for the tools that derive something from it: the local
stack and the OpenAPI generator. It imports no emulator, so the generator runs without one."""
