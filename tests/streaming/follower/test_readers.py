from streaming.follower.readers import GET_RECORDS_LIMIT, waits_out_poll


def test_a_reader_at_the_tip_waits_out_its_poll_interval_after_a_short_batch() -> None:
    assert waits_out_poll(0, 0)
    assert waits_out_poll(GET_RECORDS_LIMIT - 1, 0)


def test_a_full_batch_is_followed_by_the_next_call_at_once() -> None:
    assert not waits_out_poll(GET_RECORDS_LIMIT, 0)


def test_a_reader_behind_the_tip_reads_on_after_short_batches() -> None:
    assert not waits_out_poll(0, 1)
    assert not waits_out_poll(12, 86_400_000)
