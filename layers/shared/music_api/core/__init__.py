"""What every function shares: settings base, the error catalogue, proxy responses, AWS clients, logging,
time, identifier formats and DynamoDB item helpers."""
