"""Models split by role: ``job`` (the stored DynamoDB item), ``response`` (what the API returns)."""
