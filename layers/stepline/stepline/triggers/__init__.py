"""What starts pipelines: pushes from GitHub webhooks, CodeCommit events and local git."""
