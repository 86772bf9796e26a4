"""The one HTTP API: approval links, the JSON API for the CLI, and GitHub webhooks, on one
Powertools resolver (API Gateway on AWS, a WSGI adapter on one machine)."""
