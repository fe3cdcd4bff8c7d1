-- KEMI (app_lua) routing for the integration tests: the same logic as
-- proxy.cfg.tmpl, plus two misuses the module must survive (user "badctx":
-- gwf_failover() outside failure_route; user "nods": a request that did not
-- go through ds_select_dst()).
--
-- Issue 4 (test_observe.py): the failure function logs $gwf(...) before and
-- after gwf_failover() ("GWFPV|..." lines; in KEMI the function goes on
-- after a return value of 0, so $gwf(delay) of a delayed attempt is there),
-- and ksr_gwfailover_event() is the gateway event callback for tests that
-- set modparam("gwfailover", "event_callback", "ksr_gwfailover_event").

local GWF_PV_KEYS = {"attempt", "code", "action", "health", "rule", "delay",
	"gw", "set", "reason"}

-- One log line: GWFPV|where=<where>|ru=<R-URI user>[|<extra>]|<key>=<value>...
-- ($null reads as nil and is logged as "nil").
local function gwf_log_pv(where, extra)
	local parts = {"GWFPV", "where=" .. where,
		"ru=" .. tostring(KSR.pv.get("$rU"))}
	if extra ~= nil then
		parts[#parts + 1] = extra
	end
	for _, key in ipairs(GWF_PV_KEYS) do
		parts[#parts + 1] = key .. "=" .. tostring(KSR.pv.get("$gwf(" .. key .. ")"))
	end
	KSR.info(table.concat(parts, "|") .. "\n")
end

-- Gateway events (gwfailover:gw-down / gwfailover:gw-up).
function ksr_gwfailover_event(evname)
	local parts = {"GWFEV", "cb=" .. tostring(evname)}
	for _, key in ipairs({"event", "gw", "set", "reason", "code"}) do
		parts[#parts + 1] = key .. "=" .. tostring(KSR.pv.get("$gwf(" .. key .. ")"))
	end
	KSR.info(table.concat(parts, "|") .. "\n")
	return 1
end

-- Issue 16: the failover hook, for tests that set
-- modparam("gwfailover", "failover_callback", "ksr_gwfailover_failover").
-- Runs in the call's failure_route; logs the call's $gwf values
-- ("GWFHOOK|..."), and for callee "announce" answers 183 itself, as a
-- script playing an announcement would.
function ksr_gwfailover_failover(evname)
	local parts = {"GWFHOOK", "cb=" .. tostring(evname),
		"ru=" .. tostring(KSR.pv.get("$rU"))}
	for _, key in ipairs({"attempt", "code", "failure", "action", "delay",
			"gw"}) do
		parts[#parts + 1] = key .. "=" .. tostring(KSR.pv.get("$gwf(" .. key .. ")"))
	end
	KSR.info(table.concat(parts, "|") .. "\n")
	if KSR.pv.get("$rU") == "announce" then
		KSR.tm.t_reply(183, "Announcement")
	end
	return 1
end

function ksr_request_route()
	if KSR.maxfwd.process_maxfwd(10) < 0 then
		KSR.sl.sl_send_reply(483, "Too Many Hops")
		return 1
	end
	if KSR.siputils.has_totag() > 0 then
		if KSR.rr.loose_route() > 0 then
			KSR.tm.t_relay()
			return 1
		end
		if KSR.is_ACK() and KSR.tm.t_check_trans() > 0 then
			KSR.tm.t_relay()
		end
		return 1
	end
	if KSR.is_CANCEL() then
		if KSR.tm.t_check_trans() > 0 then
			KSR.tm.t_relay()
		end
		return 1
	end
	KSR.tm.t_check_trans()
	if KSR.is_INVITE() then
		KSR.rr.record_route()
	end
	local user = KSR.pv.get("$rU")
	if user == "badctx" then
		local rc = KSR.gwfailover.gwf_failover()
		KSR.sl.sl_send_reply(500, "gwf_failover returned " .. rc)
		return 1
	end
	if user == "nods" then
		KSR.pv.sets("$du", "@NODS_GW@")
	elseif KSR.dispatcher.ds_select_dst(1, 8) < 0 then
		KSR.sl.sl_send_reply(503, "No gateway")
		return 1
	end
	KSR.tm.t_on_failure("ksr_failure_gw")
	KSR.tm.t_relay()
	return 1
end

function ksr_failure_gw()
	if KSR.tm.t_is_canceled() > 0 then
		return 1
	end
	gwf_log_pv("pre")
	local rc = KSR.gwfailover.gwf_failover()
	KSR.info("gwf_failover rc=" .. rc .. "\n")
	gwf_log_pv("post", "rc=" .. rc)
	if rc == 0 then
		-- suspended: in KEMI a return value does not end the script
		KSR.x.exit()
	end
	return 1
end
