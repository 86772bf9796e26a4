"""The small interfaces actions are written against, with the data that crosses them; adapters/aws
and adapters/local implement them. One module a concept:

- ``artifacts``: ArtifactStore and artifact references; ``secrets``: SecretStore; ``records``: Records
- ``sources``: SourceProvider, SourceRequest, Revision, ChangedPaths, SourceHeads; ``pushes``: GitHubPush, Pushes
- ``statuses``: CommitStatuses (an execution reported on its commit)
- ``waiters``: Waiter, Completion, Waiters, TaskCallbacks; ``builds``: BuildService
- ``approvals``: Approval, Approvals, Notifier, Deliveries
- ``pipelines``: RegisteredPipeline, Registry, PipelineHost; ``workflows``: Workflows
- ``deployments``: ContainerService, LambdaFunctions, FunctionInvoker; ``targets``: Targets
- ``jobs``: Job, Jobs, ActionTypes, ArtifactCredentials (custom action types and their workers)
- ``control``: LockStore and the lock record, EventPublisher (run control)
- ``objects``: ObjectStore (S3 objects a distributed Map reads and writes; the one port the engine is given)
- ``aws_deploys``: Stacks, Buckets, CodeDeployments, Environments, Images (the deploy providers
  and the ECR source, which act on an AWS account from either runtime)

Ports import nothing of actions, adapters, wiring or the runtimes (an architecture test checks it).
"""
