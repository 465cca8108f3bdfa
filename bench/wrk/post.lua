-- Posts a note per request through POST /api/v1/statuses. Needs USER_TOKEN.
local token = os.getenv("USER_TOKEN")
local counter = 0

request = function()
  counter = counter + 1
  local body = "title=%E6%B5%8B%E8%AF%95&status=%E4%BB%8A%E5%A4%A9%E7%9A%84%E7%8C%AB+%23%E7%8C%AB%E5%92%AA+%23cat+note+" .. counter
  return wrk.format("POST", "/api/v1/statuses", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
