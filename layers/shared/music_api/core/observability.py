"""Logger and Metrics, one instance each per container. Service name and namespace come from the
environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE), set in template.yaml's Globals.

No Tracer: the X-Ray SDK would add to every cold start for a request that makes a single GetItem; Lambda and
API Gateway active tracing already time each request (docs/performance.md has the numbers).
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
