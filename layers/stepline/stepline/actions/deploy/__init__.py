"""Deploy actions: ECS services (rolling updates) and, next, Lambda traffic shifting."""
