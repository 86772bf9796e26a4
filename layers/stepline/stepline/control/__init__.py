"""Run control: how executions share a pipeline (execution modes), and the levers people pull
(disabled transitions, stopping). ``gate`` decides, purely; ``service`` applies a decision to
the pipeline's lock record and answers the waiting tasks; ``ports`` is the lock record's store.
"""
