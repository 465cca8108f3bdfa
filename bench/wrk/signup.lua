-- Registers a new account per request through POST /api/v1/accounts.
-- Needs APP_TOKEN (a client-credentials token with write:accounts).
local token = os.getenv("APP_TOKEN")
local counter = 0
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local prefix = "b" .. tostring(math.random(100000, 999999))

request = function()
  counter = counter + 1
  local body = "username=" .. prefix .. "_" .. counter .. "&password=correct+horse+battery+staple+" .. counter .. "&agreement=true"
  return wrk.format("POST", "/api/v1/accounts", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
