"""The operator's writes to the content policy (read side: music_api.engines.policy, same model both ways)."""

from botocore.exceptions import ClientError

from music_admin.auth_store import AdminError
from music_api.core.dynamodb import error_code, store_errors, to_item
from music_api.engines.policy import MAX_RULES, ContentPolicy, ContentRule, rule_key


class UnknownRuleError(AdminError):
    """``policy remove`` named a rule the policy does not have."""


class PolicyAdmin(ContentPolicy):
    def put(self, rule: ContentRule) -> None:
        """Create or replace the rule; the next job a worker takes is judged by it."""
        ids = {stored.id for stored in self.rules()}
        if rule.id not in ids and len(ids) >= MAX_RULES:
            raise AdminError(f"the policy already holds {MAX_RULES} rules")
        with store_errors("Content policy"):
            self._client.put_item(TableName=self._table_name, Item={**rule_key(rule.id), **to_item(rule.model_dump())})

    def remove(self, rule_id: str) -> None:
        with store_errors("Content policy"):
            try:
                self._client.delete_item(
                    TableName=self._table_name, Key=rule_key(rule_id), ConditionExpression="attribute_exists(pk)"
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise UnknownRuleError(f"no rule {rule_id} in the content policy") from None
                raise
