"""Adapters on AWS services; the only part of Stepline that imports boto3."""
