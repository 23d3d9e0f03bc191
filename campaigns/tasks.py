from __future__ import annotations

from referrals_saas.celery import app, business_task

from .delivery import outbox_deliver, outbox_due_for_sweep


@business_task(name="campaigns.deliver_message", bind=True, max_retries=None)
def deliver_message(self, business, message_id: int) -> str:
    """Send one outbox message; on failure retry with the backoff the row records (the row counts attempts, so
    retries sent again by the sweep still stop at the maximum)."""
    delivery = outbox_deliver(business=business, message_id=message_id)
    if delivery.retry_in is not None:
        if self.request.is_eager:
            # In-process mode (no broker) cannot hold a countdown: the row's send_after and the sweep take over.
            return "retry"
        raise self.retry(countdown=delivery.retry_in)
    return delivery.outcome


@app.task(name="campaigns.outbox_sweep", acks_late=True)
def outbox_sweep() -> int:
    """Periodic (beat, every minute): send a task for each due queued message that has none (delayed messages, and
    those whose task a broker outage or a crash lost), across businesses. Returns how many were handed out."""
    due = outbox_due_for_sweep()
    for business_id, message_id in due:
        deliver_message.delay(business_id, message_id)
    return len(due)


@app.task(name="campaigns.remind_expiring", acks_late=True)
def remind_expiring() -> int:
    """Periodic (beat, daily): remind clients of coupons, store credit and points about to expire unused, per
    business with the Reward expiring autopilot on. Idempotent per item, so a rerun sends nothing twice."""
    from .expiring import remind_expiring_all

    return remind_expiring_all()


@business_task(name="campaigns.campaign_batch", bind=True)
def campaign_batch(self, business, campaign_id: int, after: int) -> str:
    """Write one batch of a sending campaign (the clients after id `after`) and hand out the next. In-process
    mode (no broker) loops here instead of chaining, so a long campaign does not nest a task per batch."""
    from .bulk import campaign_send_batch

    result = campaign_send_batch(business=business, campaign_id=campaign_id, after=after)
    while self.request.is_eager and result.outcome == "written":
        result = campaign_send_batch(business=business, campaign_id=campaign_id, after=result.next_after)
    if result.outcome == "written":
        # Should this fail (a broker outage), the campaign's batch_at ages and the beat resumes it.
        campaign_batch.delay(business.pk, campaign_id, result.next_after)
    return result.outcome


@app.task(name="campaigns.campaigns_start_due", acks_late=True)
def campaigns_start_due() -> int:
    """Periodic (beat, every minute): start the scheduled campaigns that are due and resume stalled ones."""
    from .bulk import campaigns_start_due as start_due

    return start_due()


@business_task(name="campaigns.deliver_webhook")
def deliver_webhook(business, delivery_id: int) -> str:
    """One attempt at a webhook delivery. A failure leaves its next time on the row (up to 12 hours away, longer
    than a broker may hold a countdown): the sweep sends the retry."""
    from .webhook_delivery import webhook_deliver

    return webhook_deliver(business=business, delivery_id=delivery_id).outcome


@app.task(name="campaigns.webhooks_sweep", acks_late=True)
def webhooks_sweep() -> int:
    """Periodic (beat, every minute): a task for each due queued webhook delivery without one (retries, and
    those a broker outage or a crash lost). Returns how many were handed out."""
    from .webhook_delivery import webhooks_due_for_sweep

    due = webhooks_due_for_sweep()
    for business_id, delivery_id in due:
        deliver_webhook.delay(business_id, delivery_id)
    return len(due)
