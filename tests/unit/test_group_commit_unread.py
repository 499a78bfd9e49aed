"""When the group committer judges groups on its own states without reading first."""

from commands.group_commit import _Unread


def test_groups_are_judged_unread_until_such_attempts_keep_missing_then_read_for_a_while():
    policy = _Unread()
    for _ in range(_Unread.WINDOW):
        assert policy.allowed()
        policy.note(missed=False)
    for _ in range(_Unread.MAX_MISSES):  # up to the limit: still allowed
        assert policy.allowed()
        policy.note(missed=True)
    assert policy.allowed()
    policy.note(missed=True)  # one more miss in the window: read first for a while
    assert [policy.allowed() for _ in range(_Unread.PAUSE)] == [False] * _Unread.PAUSE
    assert policy.allowed()  # then tried again, on a fresh window
    policy.note(missed=True)
    assert policy.allowed()


def test_misses_spread_wider_than_the_window_never_pause():
    policy = _Unread()
    for i in range(10 * _Unread.WINDOW):
        assert policy.allowed()
        policy.note(missed=i % (_Unread.WINDOW // _Unread.MAX_MISSES) == 0)
