"""Stepline on one machine: the runtime (engine + in-process handlers), template.yaml read as
`sam local invoke` reads it, and the git hooks that report pushes to `stepline serve`."""
