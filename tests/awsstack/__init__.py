"""The Stepline stack as the tests see it: template.yaml transformed by SAM (offline), its
intrinsic functions resolved to the names a deployed stack has, an IAM policy evaluator, and (in
the functional tests) the stack's resources created in moto from those definitions."""
