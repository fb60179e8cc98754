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
