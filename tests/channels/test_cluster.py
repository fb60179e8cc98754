"""The cluster's parts, started and stopped like every wslab service."""

import wslab
from wslab.channels import clients, cluster


def test_without_a_broker_an_event_stays_on_its_node(stop_all):
    """Two nodes without Redis: a client event reaches the members on its node, and by the
    time they have it, none of the members on the other node has."""
    lab = cluster(nodes=2, broker=None, name="alone")
    group = clients(lab.url, 4, authorize=lab.backend.authorize)
    nodes = group.nodes()
    assert sorted(nodes) == ["1", "1", "2", "2"]  # least connections: two on each
    group.subscribe("private-room")
    group.send(0, {"event": "client-hi", "channel": "private-room", "data": "hi"})
    same = [i for i in range(1, 4) if nodes[i] == nodes[0]]
    group.wait_events("private-room", 1, which=same)
    assert [group[i].received("private-room") for i in range(4) if nodes[i] != nodes[0]] == [
        [],
        [],
    ]


def test_with_redis_every_member_gets_it_on_every_node(two_nodes):
    """The same with Redis between the nodes: everybody but the sender gets it, once."""
    group = clients(two_nodes.url, 4, authorize=two_nodes.backend.authorize)
    group.subscribe("private-room")
    group.send(0, {"event": "client-hi", "channel": "private-room", "data": "hi"})
    group.wait_events("private-room", 1, which=[1, 2, 3])
    assert [group[i].received("private-room") for i in range(4)] == [[], ["hi"], ["hi"], ["hi"]]


def test_stop_all_stops_every_part(stop_all):
    """Redis, nodes, load balancer and API are services that stop_all() stops."""
    lab = cluster(nodes=2, name="parts")
    names = set(wslab.running())
    assert {"parts-redis", "parts-node-1", "parts-node-2", "parts-lb", "parts-api"} <= names
    wslab.stop_all()
    assert not lab.running and wslab.running() == {}


def test_the_backend_triggers_through_the_signed_api(two_nodes):
    """A signed trigger reaches subscribers on both nodes; a tampered one gets 401 and
    publishes nothing."""
    group = clients(two_nodes.url, 2)
    group.subscribe("news")
    backend = two_nodes.backend
    tampered = backend.signed_trigger("news", "price", 1)
    tampered["body"] = tampered["body"].replace(b"1", b"2")
    assert backend.send(tampered)[0] == 401
    backend.trigger("news", "price", 3)
    group.wait_events("news", 1)
    assert [c.received("news") for c in group] == [[3], [3]]


def test_presence_lists_members_across_nodes_and_announces_leaving(two_nodes):
    """Members on either node see each other; when one disconnects the other is told."""
    users = [{"user_id": "ann", "user_info": {"name": "Ann"}}, {"user_id": "bob"}]
    team = clients(two_nodes.url, 2, authorize=two_nodes.backend.authorize, users=users)
    assert sorted(team.nodes()) == ["1", "2"]
    team.subscribe("presence-team", which=[0])
    (reply,) = team.subscribe("presence-team", which=[1])
    assert reply["members"] == {"ann": {"name": "Ann"}, "bob": None}
    assert team.wait_messages(0, lambda m: m["event"] == "member_added")["user_id"] == "bob"
    team.disconnect(1)
    removed = team.wait_messages(0, lambda m: m["event"] == "member_removed")
    assert removed == {"channel": "presence-team", "event": "member_removed", "user_id": "bob"}


def test_a_restarted_node_takes_new_connections_again(stop_all):
    """kill(i) then restart(i): the node is back on its port, behind the load balancer."""
    lab = cluster(nodes=2, name="restart")
    port = lab.nodes[0].port
    lab.kill(0)
    assert not lab.nodes[0].running
    lab.restart(0)
    assert lab.nodes[0].running and lab.nodes[0].port == port
    group = clients(lab.url, 4)
    assert sorted(set(group.nodes())) == ["1", "2"]


def test_the_python_balancer_does_the_same_job(stop_all):
    """Without nginx: least connections over both nodes, and a killed node is skipped."""
    lab = cluster(nodes=2, name="pyl", balancer="python")
    assert lab.balancer_kind == "python"
    group = clients(lab.url, 4)
    assert sorted(group.nodes()) == ["1", "1", "2", "2"]
    group.subscribe("news")
    lab.kill(0)
    lab.backend.trigger("news", "after", 1)
    group.wait_events("news", 1)
    assert [c.received("news") for c in group] == [[1]] * 4
    assert set(group.nodes()) == {"2"}


def test_bad_input_gets_an_error_and_the_connection_stays_open(two_nodes):
    """A frame that does not parse is answered with an error; the same client then subscribes."""
    group = clients(two_nodes.url, 1)
    group.send(0, {"event": "publish", "channel": "news"})
    error = group.wait_messages(0, lambda m: m["event"] == "error")
    assert error["code"] == "bad_message"
    assert group.subscribe("news")[0]["event"] == "subscribed"
