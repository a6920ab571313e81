-- Argo CD health of the Flink Manager resources (flinkmanager.io: FlinkCluster, Artifact, JobSpec, Execution).
-- All four kinds report status.observedGeneration and the conditions Ready, Progressing and Degraded; a status
-- written for an older generation says nothing about the current spec yet, so it counts as Progressing.
local hs = {}

local function find_condition(conditions, condition_type)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == condition_type then
      return condition
    end
  end
  return nil
end

local function describe(condition)
  if condition.message ~= nil and condition.message ~= "" then
    return condition.reason .. ": " .. condition.message
  end
  return condition.reason
end

-- Ready=False for a reason only a change of some spec can fix, rather than one that passes by itself.
local needs_a_change = {
  ArtifactFailed = true,
  EntryClassNotInArtifact = true,
}

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted"
  return hs
end

local status = obj.status
if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report on this " .. obj.kind
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
    .. " (status is of generation " .. tostring(status.observedGeneration) .. ")"
  return hs
end

local ready = find_condition(status.conditions, "Ready")
local progressing = find_condition(status.conditions, "Progressing")
local degraded = find_condition(status.conditions, "Degraded")

if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded)
  return hs
end

-- A failed Execution (job failed, not restarted) or Artifact (fetch or verification failed).
if status.phase == "Failed" then
  hs.status = "Degraded"
  if status.errorMessage ~= nil and status.errorMessage ~= "" then
    hs.message = "Failed: " .. status.errorMessage
  elseif ready ~= nil then
    hs.message = "Failed: " .. describe(ready)
  else
    hs.message = "Failed"
  end
  return hs
end

if progressing ~= nil and progressing.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(progressing)
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready ~= nil and ready.status == "False" and needs_a_change[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = describe(ready)
else
  hs.message = "Waiting for the Ready condition"
end
return hs
