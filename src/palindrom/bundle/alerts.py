"""Alerting: notifications per target and the stream monitor's thresholds as SQL alerts on the event log.

The local stream monitor (``pipelines run --continuous``) warns when a trigger takes longer than
``palindrom.monitor.trigger_execution_ms_max`` or a flow's backlog has grown
``palindrom.monitor.backlog_growth_triggers`` triggers in a row. On Databricks the same numbers are in
the published event log's ``flow_progress`` events: one event per micro-batch of a streaming flow with
``details.flow_progress.metrics.backlog_*``. A micro-batch's execution time is the time between two
consecutive ``flow_progress`` events of the flow (continuous mode starts the next trigger at once).
"""

from __future__ import annotations

from databricks.bundles.alerts import (
    Aggregation,
    Alert,
    AlertEvaluationState,
    AlertV2Evaluation,
    AlertV2Notification,
    AlertV2Operand,
    AlertV2OperandColumn,
    AlertV2OperandValue,
    AlertV2Subscription,
    ComparisonOperator,
    CronSchedule,
    SchedulePauseStatus,
)
from databricks.bundles.core import VariableOr
from databricks.bundles.jobs import (
    JobEmailNotifications,
    JobsHealthMetric,
    JobsHealthOperator,
    JobsHealthRule,
    JobsHealthRules,
    Webhook,
    WebhookNotifications,
)
from databricks.bundles.pipelines import Notifications

from palindrom.bundle.settings import Deployed, Target

DESTINATION = "${var.alert_destination_id}"  # the workspace's Better Stack webhook notification destination
WAREHOUSE = "${var.warehouse_id}"
SCHEDULE = "0 0/5 * * * ?"  # quartz: every 5 minutes
PIPELINE_ALERTS = ["on-update-failure", "on-update-fatal-failure", "on-flow-failure"]

_PROGRESS = """
WITH progress AS (
  SELECT origin.flow_name AS flow, timestamp,
         coalesce(get_json_object(details, '$.flow_progress.metrics.backlog_records'),
                  get_json_object(details, '$.flow_progress.metrics.backlog_files'),
                  get_json_object(details, '$.flow_progress.metrics.backlog_bytes')) AS backlog
  FROM {table}
  WHERE event_type = 'flow_progress' AND timestamp > current_timestamp() - INTERVAL 1 HOUR
    AND get_json_object(details, '$.flow_progress.status') = 'RUNNING'
)"""

# Built from constants and names from conf/ and pipeline specs (identifiers), never from user input.
TRIGGER_SQL = _PROGRESS + """,
triggers AS (
  SELECT flow, timestamp,
         (unix_millis(timestamp) - unix_millis(lag(timestamp) OVER (PARTITION BY flow ORDER BY timestamp)))
           AS trigger_execution_ms
  FROM progress
)
SELECT flow, max(trigger_execution_ms) AS trigger_execution_ms
FROM triggers
WHERE timestamp > current_timestamp() - INTERVAL 10 MINUTES
GROUP BY flow
"""  # noqa: S608

BACKLOG_SQL = _PROGRESS + """,
steps AS (
  SELECT flow, timestamp,
         CASE WHEN CAST(backlog AS DOUBLE) > lag(CAST(backlog AS DOUBLE)) OVER (PARTITION BY flow ORDER BY timestamp)
              THEN 1 ELSE 0 END AS grew
  FROM progress WHERE backlog IS NOT NULL
),
runs AS (
  SELECT flow, sum(grew) OVER (PARTITION BY flow ORDER BY timestamp ROWS BETWEEN {window} PRECEDING AND CURRENT ROW)
           AS grown_in_a_row,
         row_number() OVER (PARTITION BY flow ORDER BY timestamp DESC) AS newest
  FROM steps
)
SELECT flow, grown_in_a_row FROM runs WHERE newest = 1
"""  # noqa: S608


def emails(target: Target) -> list[VariableOr[str]]:
    return list(target.alerts.emails)


def pipeline_notifications(target: Target) -> list[VariableOr[Notifications]]:
    """Pipeline failures by email (pipelines notify only by email; the job carries the webhook)."""
    return [Notifications(email_recipients=emails(target), alerts=list(PIPELINE_ALERTS))]


def job_emails(target: Target) -> JobEmailNotifications:
    """A failed run and a run longer than the duration rule (``job_health``) mail the target's addresses."""
    return JobEmailNotifications(on_failure=emails(target), on_duration_warning_threshold_exceeded=emails(target),
                                 no_alert_for_skipped_runs=True)


def job_webhooks(target: Target) -> WebhookNotifications:
    """The same events to Better Stack, where the target pages."""
    hooks: list[VariableOr[Webhook]] = [Webhook(id=DESTINATION)] if target.alerts.better_stack else []
    return WebhookNotifications(on_failure=list(hooks), on_duration_warning_threshold_exceeded=list(hooks))


def job_health(target: Target) -> JobsHealthRules:
    """A run (one pipeline update) longer than ``deploy.alerts.run_duration_seconds`` warns."""
    return JobsHealthRules(rules=[JobsHealthRule(metric=JobsHealthMetric.RUN_DURATION_SECONDS,
                                                 op=JobsHealthOperator.GREATER_THAN,
                                                 value=target.alerts.run_duration_seconds)])


def _subscriptions(target: Target) -> list[VariableOr[AlertV2Subscription]]:
    subscriptions: list[VariableOr[AlertV2Subscription]] = [AlertV2Subscription(user_email=e)
                                                            for e in target.alerts.emails]
    if target.alerts.better_stack:
        subscriptions.append(AlertV2Subscription(destination_id=DESTINATION))
    return subscriptions


def _alert(pipeline: Deployed, target: Target, title: str, sql: str, column: str, threshold: float) -> Alert:
    return Alert(
        display_name=f"{pipeline.name}_{title}_{target.name}",
        query_text=sql.format(table=f"{pipeline.catalog}.{pipeline.schema}.event_log").strip() + "\n",
        warehouse_id=WAREHOUSE,
        evaluation=AlertV2Evaluation(
            source=AlertV2OperandColumn(name=column, aggregation=Aggregation.MAX),
            comparison_operator=ComparisonOperator.GREATER_THAN,
            threshold=AlertV2Operand(value=AlertV2OperandValue(double_value=threshold)),
            empty_result_state=AlertEvaluationState.OK,
            notification=AlertV2Notification(subscriptions=_subscriptions(target), notify_on_ok=True),
        ),
        schedule=CronSchedule(quartz_cron_schedule=SCHEDULE, timezone_id="UTC",
                              pause_status=SchedulePauseStatus.PAUSED if target.alerts.schedule_paused
                              else SchedulePauseStatus.UNPAUSED),
    )


def monitor_alerts(pipeline: Deployed, target: Target) -> dict[str, Alert]:
    """``<pipeline>_trigger_slow`` (a trigger over the threshold in the last 10 minutes) and
    ``<pipeline>_backlog_growing`` (the newest N backlog readings each grew over the one before)."""
    triggers = target.backlog_growth_triggers
    return {
        f"{pipeline.name}_trigger_slow": _alert(pipeline, target, "trigger_slow", TRIGGER_SQL,
                                                "trigger_execution_ms", float(target.trigger_execution_ms_max)),
        f"{pipeline.name}_backlog_growing": _alert(
            pipeline, target, "backlog_growing", BACKLOG_SQL.replace("{window}", str(triggers - 1)),
            "grown_in_a_row", float(triggers - 1)),
    }
