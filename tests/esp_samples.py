"""Webhook bodies as Amazon SES (through SNS) and Postmark post them, written for these tests
after the providers' documented shapes (every id, name and address is invented)."""

from __future__ import annotations

import json
from typing import Any


def ses_bounce(
    reader: str, *, source: str, permanent: bool = True, feedback: str = "fb-0001"
) -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent" if permanent else "Transient",
            "bounceSubType": "General" if permanent else "MailboxFull",
            "bouncedRecipients": [
                {
                    "emailAddress": reader,
                    "action": "failed",
                    "status": "5.1.1" if permanent else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown" if permanent else "smtp; 452 4.2.2 full",
                }
            ],
            "timestamp": "2027-06-07T07:14:05.000Z",
            "feedbackId": feedback,
            "reportingMTA": "dsn; a1-2.smtp-out.example.com",
        },
        "mail": {
            "timestamp": "2027-06-07T07:14:03.000Z",
            "source": source,
            "sourceArn": "arn:aws:ses:eu-west-1:000000000000:identity/example.org",
            "messageId": "0102017f0000aaaa-0000-0000-0000-000000000000-000000",
            "destination": [reader],
            "headersTruncated": False,
            "headers": [{"name": "Message-ID", "value": "<2027-06-07.1a2b3c4d@example.org>"}],
            "commonHeaders": {"from": ["brief@example.org"], "to": [reader], "subject": "The Brief"},
        },
    }


def ses_complaint(reader: str, *, source: str, feedback: str = "fb-0002") -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": reader}],
            "timestamp": "2027-06-07T09:00:00.000Z",
            "feedbackId": feedback,
            "complaintFeedbackType": "abuse",
            "userAgent": "ExampleFBL/1.0",
        },
        "mail": {"timestamp": "2027-06-07T07:14:03.000Z", "source": source, "destination": [reader]},
    }


def sns(notification: dict[str, Any], message_id: str = "sns-0001") -> dict[str, Any]:
    """A notification as SNS delivers it to an HTTPS subscription: JSON inside a JSON string."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": "arn:aws:sns:eu-west-1:000000000000:digest-bounces",
        "Message": json.dumps(notification),
        "Timestamp": "2027-06-07T07:14:06.000Z",
        "SignatureVersion": "1",
        "Signature": "c2lnbmF0dXJl",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/cert.pem",
    }


def sns_confirmation() -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "sns-0000",
        "Token": "t0k3n",
        "TopicArn": "arn:aws:sns:eu-west-1:000000000000:digest-bounces",
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t0k3n",
    }


def postmark_bounce(
    reader: str, *, kind: str = "HardBounce", bounce_id: int = 4323372036854775807
) -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "brief",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": reader,
        "From": "brief@example.org",
        "BouncedAt": "2027-06-07T07:20:11.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "The Brief",
        "Metadata": {"edition": "2027-06-07"},
    }


def postmark_complaint(reader: str, *, complaint_id: int = 4323372036854775808) -> dict[str, Any]:
    body = postmark_bounce(reader, kind="SpamComplaint", bounce_id=complaint_id)
    return body | {"RecordType": "SpamComplaint", "TypeCode": 512, "Name": "Spam complaint"}
