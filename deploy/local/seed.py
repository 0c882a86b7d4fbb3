"""Creates the demo's bucket, queue and S3 → SQS notification on the local
stack, and uploads the project's sample objects under the keys AWS services
use. Run with the stack's virtualenv Python (it has boto3):

    .local-stack/venv/bin/python deploy/local/seed.py BUCKET QUEUE FILE:KEY...

Each FILE is gzip-compressed on upload when KEY ends in `.gz`.
"""

import gzip
import json
import os
import sys

import boto3


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    bucket, queue = sys.argv[1], sys.argv[2]
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    s3 = boto3.client("s3", endpoint_url=endpoint)
    sqs = boto3.client("sqs", endpoint_url=endpoint)

    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    for spec in sys.argv[3:]:
        path, key = spec.split(":", 1)
        with open(path, "rb") as f:
            body = f.read()
        if key.endswith(".gz"):
            body = gzip.compress(body)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        print(f"uploaded s3://{bucket}/{key} ({len(body)} bytes)", file=sys.stderr)
    print(json.dumps({"queue_url": queue_url}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
