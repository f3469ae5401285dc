"""Authoritative DNS over UDP and TCP, answering from the Alidns records (dnspython wire format)."""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import TYPE_CHECKING

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

if TYPE_CHECKING:
    from sandbox.alidns.models import Record
    from sandbox.world import World

log = logging.getLogger("sandbox.dns")

SERVED_TYPES = {"A", "AAAA", "CNAME", "TXT"}
SOA_TTL = 600


def _rdata(record: Record) -> dns.rdata.Rdata:
    rdtype = dns.rdatatype.from_text(record.type)
    if record.type == "TXT":
        raw = record.value.encode()
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, rdtype, chunks)
    text = record.value if record.type != "CNAME" else record.value.rstrip(".") + "."
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text)


def _soa(zone: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(
        zone + ".",
        SOA_TTL,
        "IN",
        "SOA",
        f"ns1.sandbox.alidns.example. hostmaster.{zone}. 1 3600 600 86400 {SOA_TTL}",
    )


class DnsResolver:
    """Builds DNS responses for queries against the world's Alidns domains."""

    def __init__(self, world: World):
        self.world = world

    def answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            log.debug("dropping malformed DNS query")
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.flags &= ~dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        qname = question.name.to_text(omit_final_dot=True)
        qtype = dns.rdatatype.to_text(question.rdtype)
        with self.world.lock:
            zone = next((d for d in self.world.alidns.domains if qname == d or qname.endswith("." + d)), None)
            if zone is None:
                response.flags &= ~dns.flags.AA
                response.set_rcode(dns.rcode.REFUSED)
                return response.to_wire()
            if qtype == "SOA" and qname == zone:
                response.answer.append(_soa(zone))
                return response.to_wire()
            if qtype not in SERVED_TYPES:
                response.authority.append(_soa(zone))
                return response.to_wire()
            status, records = self.world.alidns.resolve(qname, qtype)
            chased: list[Record] = []
            if records and records[0].type == "CNAME" and qtype != "CNAME":
                target = records[0].value.rstrip(".").lower()
                if target == zone or target.endswith("." + zone):
                    _, chased = self.world.alidns.resolve(target, qtype)
        if status == "NXDOMAIN":
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(_soa(zone))
            return response.to_wire()
        for group in (records, chased):
            if not group:
                continue
            owner = (
                question.name if group is records else dns.name.from_text(records[0].value.rstrip(".") + ".")
            )
            rdtype = dns.rdatatype.from_text(group[0].type)
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype)
            rrset.update_ttl(min(r.ttl for r in group))
            for record in group:
                rrset.add(_rdata(record))
            response.answer.append(rrset)
        if not records:
            response.authority.append(_soa(zone))
        return response.to_wire(max_size=65535)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, resolver: DnsResolver):
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.resolver.answer(data)
        if reply is None or self.transport is None:
            return
        if len(reply) > 512:
            truncated = dns.message.from_wire(reply)
            truncated.answer = []
            truncated.flags |= dns.flags.TC
            reply = truncated.to_wire()
        self.transport.sendto(reply, addr)


class DnsServer:
    """UDP and TCP listeners on one port."""

    def __init__(self, world: World, host: str, port: int):
        self.resolver = DnsResolver(world)
        self.host = host
        self.port = port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self.resolver), local_addr=(self.host, self.port)
        )
        self._udp = transport
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(2)
                (length,) = struct.unpack("!H", header)
                reply = self.resolver.answer(await reader.readexactly(length))
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
