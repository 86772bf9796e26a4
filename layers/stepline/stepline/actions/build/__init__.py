"""Build actions: the buildspec model and the local runner (CodeBuild on AWS comes with its adapter)."""
