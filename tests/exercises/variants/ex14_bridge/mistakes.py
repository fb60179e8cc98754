"""ex14 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "echo_duplicates",
        "delivers its own publishes locally at once, and again when Redis brings them back: "
        "every member of the publishing node gets each of its events twice",
        fails=(
            "test_an_event_reaches_the_members_of_its_own_node_once",
            "test_twenty_events_from_both_nodes_arrive_once_each_in_order",
            "test_one_publish_to_redis_per_event_and_no_loop",
        ),
        edits=(
            (
                '        text = json.dumps({"node": self.node, "data": data})',
                "        self.deliver(channel, data)  # the mistake: Redis brings it back too\n"
                '        text = json.dumps({"node": self.node, "data": data})',
            ),
        ),
    ),
    Mistake(
        "loop_forwards",
        "relays what other nodes published back to Redis under its own name, so the other node "
        "relays it back again: an endless ping-pong between the two nodes",
        # Redis's count of PUBLISH commands sees the loop for sure; another test's probe may
        # reach a member before the loop's first echo does (seen once in thirty runs).
        fails=("test_one_publish_to_redis_per_event_and_no_loop",),
        edits=(
            (
                '                    self.deliver(channel, json.loads(message["data"])["data"])',
                '                    event = json.loads(message["data"])\n'
                '                    self.deliver(channel, event["data"])\n'
                '                    if event["node"] != self.node:  # the mistake: relayed back\n'
                '                        await self.publish(channel, event["data"])',
            ),
        ),
    ),
    Mistake(
        "stop_leaks",
        "stop() cancels the relay but closes nothing: Redis keeps the pattern subscription "
        "(and the connection) of a node that has gone",
        fails=("test_stop_unsubscribes",),
        edits=(
            (
                "        await self.pubsub.punsubscribe()\n"
                "        await self.pubsub.aclose()\n"
                "        await self.client.aclose()\n",
                "",
            ),
        ),
    ),
]
