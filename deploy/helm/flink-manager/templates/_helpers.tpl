{{/* The chart's name. */}}
{{- define "flink-manager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object of the release (the release name when it contains the chart's name). */}}
{{- define "flink-manager.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flink-manager.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flink-manager.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* What selects the operator's pods. */}}
{{- define "flink-manager.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flink-manager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "flink-manager.labels" -}}
{{ include "flink-manager.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "flink-manager.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The operator's settings as FLINK_MANAGER_* variables (docs/operations.md, "Configuration"). */}}
{{- define "flink-manager.env" -}}
{{- if eq (int .Values.metrics.port) 8080 }}
{{- fail "metrics.port: 8080 is kopf's liveness endpoint (the probes' port); choose another" }}
{{- end }}
# kopf's identity in the peering: the pod's name, so a restarted container recognises its own record.
- name: POD_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
# Empty: watch every namespace.
- name: FLINK_MANAGER_NAMESPACES
  value: {{ join "," .Values.watchNamespaces | quote }}
- name: FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS
  value: {{ .Values.settings.allowInsecureArtifacts | quote }}
- name: FLINK_MANAGER_HISTORY_LIMIT
  value: {{ .Values.settings.historyLimit | quote }}
- name: FLINK_MANAGER_MAX_ARTIFACT_BYTES
  value: {{ .Values.settings.maxArtifactBytes | int64 | quote }}
- name: FLINK_MANAGER_METRICS_PORT
  value: {{ .Values.metrics.port | quote }}
- name: FLINK_MANAGER_WORKERS
  value: {{ .Values.settings.workers | quote }}
- name: FLINK_MANAGER_ARTIFACT_CACHE_DIR
  value: /var/cache/flink-manager/artifacts
{{- with .Values.settings.s3Endpoint }}
- name: FLINK_MANAGER_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.settings.allowPrivateArtifactHosts }}
- name: FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The pod of the Deployment and of the HA StatefulSet, but for the container's command and arguments. */}}
{{- define "flink-manager.podSpec" -}}
serviceAccountName: {{ include "flink-manager.serviceAccountName" . }}
terminationGracePeriodSeconds: 30
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  # Downloaded and verified JARs; lost on restart, fetched again when needed.
  - name: artifact-cache
    emptyDir:
      sizeLimit: {{ .Values.artifactCache.sizeLimit }}
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
{{- end }}

{{/* The operator container but for its command, arguments and extra variables. */}}
{{- define "flink-manager.containerCommon" -}}
image: {{ include "flink-manager.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
ports:
  - name: health
    containerPort: 8080
    protocol: TCP
  - name: metrics
    containerPort: {{ .Values.metrics.port }}
    protocol: TCP
startupProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: 10
  timeoutSeconds: 5
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: artifact-cache
    mountPath: /var/cache/flink-manager
  - name: tmp
    mountPath: /tmp
{{- end }}
