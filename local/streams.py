"""Event source mappings in one process: moto's DynamoDB streams and SQS queues read as Lambda's pollers read them.

The template's own mapping properties apply: the batch size, the filter, partial batch responses
(resume from the reported record), bisection on a function error, the retry limit and the on-failure
destination. `drain()` delivers what is on the streams now; `start()` keeps polling in a thread."""

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.lambdas import LocalLambdas
from local.template import StreamSource, resolve


def matches(pattern: Any, value: Any) -> bool:
    """An event filter pattern (the subset Lambda's filters use here: values, lists, prefixes)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches(part, value.get(key)) for key, part in pattern.items())
    return any(
        (isinstance(option, dict) and isinstance(value, str) and value.startswith(option["prefix"])) or option == value
        for option in pattern
    )


@dataclass
class _Shard:
    shard_id: str
    after: str | None = None  # the last sequence number done
    attempts: int = 0


@dataclass
class StreamPoller:
    lambdas: LocalLambdas
    source: StreamSource
    shards: dict[str, _Shard] = field(default_factory=dict)
    batch_limit: int = 0

    def __post_init__(self) -> None:
        self.properties = resolve(self.source.properties, self.lambdas.aws.references)
        self.stream_arn = str(self.properties["Stream"])
        self.batch_size = int(self.properties.get("BatchSize", 100))
        self.batch_limit = self.batch_size
        rules = self.properties.get("FilterCriteria", {}).get("Filters", [])
        self.filters = [json.loads(rule["Pattern"]) for rule in rules]
        self.max_retries = int(self.properties.get("MaximumRetryAttempts", -1))
        self.partial = "ReportBatchItemFailures" in self.properties.get("FunctionResponseTypes", [])
        self.on_failure = self.properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.streams = boto3.client("dynamodbstreams")

    def drain(self) -> None:
        """Invokes the function until each shard is done or a batch failed (retried on the next drain)."""
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            state = self.shards.setdefault(shard["ShardId"], _Shard(shard["ShardId"]))
            while self._deliver_one_batch(state):
                pass

    def _deliver_one_batch(self, shard: _Shard) -> bool:
        records = [record for record in self._records_after(shard) if self._wanted(record)]
        if not records:
            return False
        batch = records[: self.batch_limit]
        try:
            answer = self.lambdas.invoke(self.source.function, {"Records": batch})
        except Exception:  # a function error: retried, halved if bisecting
            if self.properties.get("BisectBatchOnFunctionError") and len(batch) > 1:
                self.batch_limit = max(1, len(batch) // 2)
            return self._failed(shard, batch)
        failures = (answer or {}).get("batchItemFailures", []) if self.partial else []
        if failures:
            resume_at = min(int(failure["itemIdentifier"]) for failure in failures)
            done = [record for record in batch if int(record["dynamodb"]["SequenceNumber"]) < resume_at]
            if done:
                shard.after = done[-1]["dynamodb"]["SequenceNumber"]
            return self._failed(shard, batch[len(done) :])
        shard.after, shard.attempts, self.batch_limit = batch[-1]["dynamodb"]["SequenceNumber"], 0, self.batch_size
        return True

    def _failed(self, shard: _Shard, batch: list[dict[str, Any]]) -> bool:
        shard.attempts += 1
        if 0 <= self.max_retries < shard.attempts:
            self._send_to_on_failure(shard, batch)
            shard.after, shard.attempts = batch[-1]["dynamodb"]["SequenceNumber"], 0
            return True
        return False

    def _send_to_on_failure(self, shard: _Shard, batch: list[dict[str, Any]]) -> None:
        if not self.on_failure:
            return
        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=str(self.on_failure).rsplit(":", 1)[-1])["QueueUrl"]
        info = {
            "shardId": shard.shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(batch),
            "streamArn": self.stream_arn,
        }
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"DDBStreamBatchInfo": info}))

    def _records_after(self, shard: _Shard) -> list[dict[str, Any]]:
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.after}
            if shard.after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard.shard_id, **position)
        answer = self.streams.get_records(ShardIterator=iterator["ShardIterator"])
        return [self._lambda_record(record) for record in answer["Records"]]

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """As Lambda hands a stream record to a function: epoch seconds, the source ARN."""
        change = dict(record["dynamodb"])
        change["ApproximateCreationDateTime"] = change["ApproximateCreationDateTime"].timestamp()
        return {**record, "dynamodb": change, "eventSourceARN": self.stream_arn}

    def _wanted(self, record: dict[str, Any]) -> bool:
        return not self.filters or any(matches(pattern, record) for pattern in self.filters)


@dataclass
class QueuePoller:
    """An SQS event source: batches received, the function invoked, what it did not report failed deleted."""

    lambdas: LocalLambdas
    source: StreamSource

    def __post_init__(self) -> None:
        self.properties = resolve(self.source.properties, self.lambdas.aws.references)
        self.queue_arn = str(self.properties["Queue"])
        self.batch_size = int(self.properties.get("BatchSize", 10))
        self.partial = "ReportBatchItemFailures" in self.properties.get("FunctionResponseTypes", [])
        self.sqs = boto3.client("sqs")
        self.url = self.sqs.get_queue_url(QueueName=self.queue_arn.rsplit(":", 1)[-1])["QueueUrl"]

    def drain(self) -> None:
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=self.batch_size).get(
            "Messages", []
        ):
            records = [self._lambda_record(message) for message in messages]
            try:
                answer = self.lambdas.invoke(self.source.function, {"Records": records})
            except Exception:  # a function error: the whole batch is received again after its visibility timeout
                return
            failed = {failure["itemIdentifier"] for failure in (answer or {}).get("batchItemFailures", [])}
            for message in messages:
                if not (self.partial and message["MessageId"] in failed):
                    self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def _lambda_record(self, message: Any) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": "us-east-1",
        }


class LocalStreams:
    """Every DynamoDB stream and SQS event source of the template, polled in this process."""

    def __init__(self, lambdas: LocalLambdas):
        self.lambdas = lambdas
        template = lambdas.aws.template
        self.pollers: list[StreamPoller | QueuePoller] = [
            *(StreamPoller(lambdas, source) for source in template.stream_sources("DynamoDB")),
            *(QueuePoller(lambdas, source) for source in template.stream_sources("SQS")),
        ]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain(self) -> None:
        # One invocation at a time, as every call in this process: moto is not thread-safe.
        with self.lambdas.lock:
            for poller in self.pollers:
                poller.drain()

    def start(self, interval_seconds: float = 0.2) -> "LocalStreams":
        def poll() -> None:
            while not self._stop.wait(interval_seconds):
                try:
                    self.drain()
                except RuntimeError:  # the runtime closed under us: the world is ending
                    return

        self._thread = threading.Thread(target=poll, name="stream-pollers", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
