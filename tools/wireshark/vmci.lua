-- vmci.lua - a Wireshark/tshark post-dissector for vmcisim's LINKTYPE_VSOCK captures.
--
-- Wireshark's own vsock dissector reads the 32-byte vsockmon header but skips the transport
-- header of transport 1 ("No info"), which is where vmcisim puts the VMCI stream transport's
-- 56-byte control packet (a 24-byte VMCI datagram header and a 32-byte body: version, type,
-- notify protocol, ports, then size / mode / queue-pair handle / wait {generation, offset}),
-- and a datagram socket's 24-byte VMCI datagram header. This script decodes both.
--
-- Use:  tshark -X lua_script:vmci.lua -r capture.pcap
--       (or copy it to ~/.local/lib/wireshark/plugins/). Note: tshark ignores Lua scripts when
--       it runs as root.
-- Filter fields: vmci.type, vmci.type_name, vmci.proto, vmci.src_port, vmci.dst_port,
-- vmci.size, vmci.mode, vmci.qp_handle.context, vmci.qp_handle.resource, vmci.wait.generation,
-- vmci.wait.offset, vmci.dg.dst.context, vmci.dg.dst.resource, vmci.dg.src.context,
-- vmci.dg.src.resource, vmci.dg.payload_size, vmci.delivered, vmci.transit, vmci.undelivered.
--
-- Delivery times: in a pcapng capture from `vmcisim run --pcap x.pcapng` a frame's timestamp is
-- when the packet was sent, and its comment says when it reached the other end ("delivered at
-- 0.000150000 (+0.000050000)", or "not delivered by the end of the run"). This script turns
-- that into fields: vmci.delivered (simulated seconds), vmci.transit (seconds in flight),
-- vmci.undelivered (true for a packet that never arrived), and ends the Info column with
-- "delivered +0.000050000s". Filter `vmci.transit > 0.001` for late packets.

local vmci = Proto("vmci", "VMCI transport (vmcisim)")

local TYPE_NAMES = {
  [0] = "INVALID", [1] = "REQUEST", [2] = "NEGOTIATE", [3] = "OFFER", [4] = "ATTACH",
  [5] = "WROTE", [6] = "READ", [7] = "RST", [8] = "SHUTDOWN", [9] = "WAITING_WRITE",
  [10] = "WAITING_READ", [11] = "REQUEST2", [12] = "NEGOTIATE2",
}
local PROTO_NAMES = { [0] = "none", [1] = "PKT_ON_NOTIFY" }

local f = vmci.fields
f.dg_dst_ctx = ProtoField.uint32("vmci.dg.dst.context", "Destination context", base.DEC)
f.dg_dst_res = ProtoField.uint32("vmci.dg.dst.resource", "Destination resource", base.DEC)
f.dg_src_ctx = ProtoField.uint32("vmci.dg.src.context", "Source context", base.DEC)
f.dg_src_res = ProtoField.uint32("vmci.dg.src.resource", "Source resource", base.DEC)
f.dg_size = ProtoField.uint64("vmci.dg.payload_size", "Payload size", base.DEC)
f.version = ProtoField.uint8("vmci.version", "Version", base.DEC)
f.type = ProtoField.uint8("vmci.type", "Type", base.DEC, TYPE_NAMES)
f.type_name = ProtoField.string("vmci.type_name", "Type name")
f.proto = ProtoField.uint16("vmci.proto", "Notify protocol", base.HEX)
f.src_port = ProtoField.uint32("vmci.src_port", "Source port", base.DEC)
f.dst_port = ProtoField.uint32("vmci.dst_port", "Destination port", base.DEC)
f.size = ProtoField.uint64("vmci.size", "Queue-pair size", base.DEC)
f.mode = ProtoField.uint64("vmci.mode", "Shutdown mode", base.HEX)
f.qp_ctx = ProtoField.uint32("vmci.qp_handle.context", "Queue-pair handle context", base.DEC)
f.qp_res = ProtoField.uint32("vmci.qp_handle.resource", "Queue-pair handle resource", base.DEC)
f.wait_gen = ProtoField.uint64("vmci.wait.generation", "Wait generation", base.DEC)
f.wait_off = ProtoField.uint64("vmci.wait.offset", "Wait offset", base.DEC)

f.delivered = ProtoField.double("vmci.delivered", "Delivered at (simulated seconds)")
f.transit = ProtoField.double("vmci.transit", "Time in flight (seconds)")
f.undelivered = ProtoField.bool("vmci.undelivered", "Not delivered by the end of the run")

local f_trans = Field.new("vsock.trans")
local f_comment = Field.new("frame.comment")
local f_trans_len = Field.new("vsock.trans_len")

local VSOCKMON_HDR = 32
local TRANS_NO_INFO = 1

local function dg_header(tvb, tree, off)
  tree:add_le(f.dg_dst_ctx, tvb(off, 4))
  tree:add_le(f.dg_dst_res, tvb(off + 4, 4))
  tree:add_le(f.dg_src_ctx, tvb(off + 8, 4))
  tree:add_le(f.dg_src_res, tvb(off + 12, 4))
  tree:add_le(f.dg_size, tvb(off + 16, 8))
end

local function shutdown_mode(m)
  local parts = {}
  if bit32 and bit32.band then
    if bit32.band(m, 1) ~= 0 then parts[#parts + 1] = "RCV" end
    if bit32.band(m, 2) ~= 0 then parts[#parts + 1] = "SEND" end
  else
    if m % 2 == 1 then parts[#parts + 1] = "RCV" end
    if math.floor(m / 2) % 2 == 1 then parts[#parts + 1] = "SEND" end
  end
  return table.concat(parts, "|")
end

local function control_packet(tvb, pinfo, tree, off)
  local sub = tree:add(vmci, tvb(off, 56), "VMCI stream control packet")
  dg_header(tvb, sub, off)
  local ptype = tvb(off + 25, 1):uint()
  local name = TYPE_NAMES[ptype] or ("UNKNOWN(" .. ptype .. ")")
  sub:add(f.version, tvb(off + 24, 1))
  sub:add(f.type, tvb(off + 25, 1))
  sub:add(f.type_name, name)
  sub:add_le(f.proto, tvb(off + 26, 2))
  sub:add_le(f.src_port, tvb(off + 28, 4))
  sub:add_le(f.dst_port, tvb(off + 32, 4))
  local u = off + 40
  local detail = ""
  if ptype == 1 or ptype == 2 or ptype == 11 or ptype == 12 then
    sub:add_le(f.size, tvb(u, 8))
    detail = " size=" .. tostring(tvb(u, 8):le_uint64())
    if ptype == 11 or ptype == 12 then
      local p = tvb(off + 26, 2):le_uint()
      detail = detail .. " proto=" .. (PROTO_NAMES[p] or string.format("0x%x", p))
    end
  elseif ptype == 3 or ptype == 4 then
    sub:add_le(f.qp_ctx, tvb(u, 4))
    sub:add_le(f.qp_res, tvb(u + 4, 4))
    detail = string.format(" handle=%d:%d", tvb(u, 4):le_uint(), tvb(u + 4, 4):le_uint())
  elseif ptype == 8 then
    sub:add_le(f.mode, tvb(u, 8))
    detail = " mode=" .. shutdown_mode(tvb(u, 4):le_uint())
  elseif ptype == 9 or ptype == 10 then
    sub:add_le(f.wait_gen, tvb(u, 8))
    sub:add_le(f.wait_off, tvb(u + 8, 8))
    detail = string.format(" generation=%s offset=%s", tostring(tvb(u, 8):le_uint64()),
                           tostring(tvb(u + 8, 8):le_uint64()))
  end
  pinfo.cols.protocol:set("VMCI")
  pinfo.cols.info:append(" VMCI " .. name .. detail)
end

-- The delivery comment vmcisim writes on each frame of a pcapng capture.
local function delivery(pinfo, tree)
  for _, c in ipairs({ f_comment() }) do
    local text = tostring(c.value)
    local at, transit = text:match("^delivered at (%d+%.%d+) %(%+(%d+%.%d+)%)")
    if not transit then transit = text:match("^delivered %(%+(%d+%.%d+)%)") end
    if transit then
      local sub = tree:add(vmci, "VMCI delivery: +" .. transit .. " s in flight")
      if at then sub:add(f.delivered, tonumber(at)):set_generated() end
      sub:add(f.transit, tonumber(transit)):set_generated()
      pinfo.cols.info:append(" delivered +" .. transit .. "s")
      return
    end
    if text:match("^not delivered by the end of the run") then
      local sub = tree:add(vmci, "VMCI delivery: never")
      sub:add(f.undelivered, true):set_generated()
      pinfo.cols.info:append(" (not delivered)")
      return
    end
  end
end

local function transport(tvb, pinfo, tree)
  local trans = f_trans()
  local tlen = f_trans_len()
  if not trans or not tlen or trans.value ~= TRANS_NO_INFO then return end
  local len = tlen.value
  if len == 56 and tvb:len() >= VSOCKMON_HDR + 56 then
    control_packet(tvb, pinfo, tree, VSOCKMON_HDR)
  elseif len == 24 and tvb:len() >= VSOCKMON_HDR + 24 then
    local sub = tree:add(vmci, tvb(VSOCKMON_HDR, 24), "VMCI datagram header")
    dg_header(tvb, sub, VSOCKMON_HDR)
    pinfo.cols.protocol:set("VMCI")
    pinfo.cols.info:append(string.format(" VMCI DATAGRAM %d:%d -> %d:%d size=%s",
      tvb(VSOCKMON_HDR + 8, 4):le_uint(), tvb(VSOCKMON_HDR + 12, 4):le_uint(),
      tvb(VSOCKMON_HDR, 4):le_uint(), tvb(VSOCKMON_HDR + 4, 4):le_uint(),
      tostring(tvb(VSOCKMON_HDR + 16, 8):le_uint64())))
  end
end

function vmci.dissector(tvb, pinfo, tree)
  transport(tvb, pinfo, tree)
  delivery(pinfo, tree)
end

register_postdissector(vmci)
