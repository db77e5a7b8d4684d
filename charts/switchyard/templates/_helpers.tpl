{{/*
Chart name, truncated to 63 characters (the DNS label limit).
*/}}
{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Prefix of every object name: <release>-<chart>, or the release name when it already holds the chart
name (so release "switchyard" gives "switchyard-scheduler", not "switchyard-switchyard-scheduler").
*/}}
{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Chart label value: <chart>-<version>.
*/}}
{{- define "switchyard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels of one component. Call with (dict "context" $ "component" "scheduler").
*/}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Standard labels of every object. Call with (dict "context" $ "component" "scheduler").
*/}}
{{- define "switchyard.labels" -}}
{{ include "switchyard.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: switchyard
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ include "switchyard.chart" .context }}
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The image reference: repository@digest when a digest is set, else repository:tag (tag defaults to
the chart's appVersion).
*/}}
{{- define "switchyard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Name of the scheduler's ServiceAccount.
*/}}
{{- define "switchyard.schedulerServiceAccountName" -}}
{{- if .Values.scheduler.serviceAccount.create -}}
{{- default (printf "%s-scheduler" (include "switchyard.fullname" .)) .Values.scheduler.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.scheduler.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Name of the agents' ServiceAccount.
*/}}
{{- define "switchyard.agentServiceAccountName" -}}
{{- if .Values.agents.serviceAccount.create -}}
{{- default (printf "%s-agent" (include "switchyard.fullname" .)) .Values.agents.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agents.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Name of the scheduler's leader Lease.
*/}}
{{- define "switchyard.leaseName" -}}
{{- default (printf "%s-scheduler" (include "switchyard.fullname" .)) .Values.scheduler.leaderElection.leaseName -}}
{{- end -}}

{{/*
Whether the scheduler talks to the Kubernetes API at all ("true" or empty): to watch Nodes, or to
hold the leader Lease. Decides the RBAC objects and whether a token is mounted.
*/}}
{{- define "switchyard.schedulerUsesKubernetesApi" -}}
{{- if or (ne .Values.scheduler.kubernetes "off") (eq .Values.scheduler.leaderElection.mode "kubernetes") -}}
true
{{- end -}}
{{- end -}}

{{/*
Name of the in-chart NATS server's Service: the NATS chart's own "nats.fullname" rule, evaluated
with the subchart's name and overrides.
*/}}
{{- define "switchyard.natsServiceName" -}}
{{- if .Values.nats.fullnameOverride -}}
{{- .Values.nats.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "nats" .Values.nats.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The NATS URL every process connects to: the in-chart server's client port, or externalNats.url.
*/}}
{{- define "switchyard.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s.%s.svc:4222" (include "switchyard.natsServiceName" .) .Release.Namespace -}}
{{- else -}}
{{- required "externalNats.url is required when nats.enabled is false" .Values.externalNats.url -}}
{{- end -}}
{{- end -}}

{{/*
Where the NATS credential files from the Secret are mounted.
*/}}
{{- define "switchyard.natsSecretDir" -}}
/etc/switchyard/nats
{{- end -}}

{{/*
The NATS identity of one process under natsAuth, as JSON: `seedKey`, the key of its nkey seed in the
natsAuth Secret, and `inboxPrefix`, the only inbox the server lets it read. `switchyard nats-config`
names a seed `<role>-<user>.nk` and gives the prefix of inboxPrefixOf
(protocol/src/security/nats-permissions.ts); the chart's tests hold this table to both. Call with
(dict "context" $ "role" "scheduler" "user" .Values.natsAuth.schedulerUser); roles: scheduler, agent,
operator.
*/}}
{{- define "switchyard.natsIdentity" -}}
{{- if .context.Values.externalNats.existingSecret.name -}}
{{- fail "natsAuth and externalNats.existingSecret are alternatives: each process connects either with its own nkey identity or with the Secret's shared credentials, not both" -}}
{{- end -}}
{{- $identityFormats := dict
  "scheduler" (dict "seedKey" "scheduler-%s.nk" "inboxPrefix" "_INBOX.sched.%s")
  "agent" (dict "seedKey" "agent-%s.nk" "inboxPrefix" "_INBOX.agent.%s")
  "operator" (dict "seedKey" "operator-%s.nk" "inboxPrefix" "_INBOX.op.%s") -}}
{{- $formats := get $identityFormats .role -}}
{{- dict "seedKey" (printf $formats.seedKey .user) "inboxPrefix" (printf $formats.inboxPrefix .user) | toJson -}}
{{- end -}}

{{/*
Environment of every Switchyard container: the NATS URL, the log level, and the NATS credentials.
Under natsAuth: the file of the process's own nkey seed and its inbox prefix. Otherwise from
externalNats.existingSecret: the user and token as variables, the password and the .creds file as
files, which never show in the pod spec or in `ps`. Call with the process's NATS identity (see
switchyard.natsIdentity).
*/}}
{{- define "switchyard.commonEnv" -}}
- name: SWITCHYARD_NATS_URL
  value: {{ include "switchyard.natsUrl" .context | quote }}
- name: SWITCHYARD_LOG_LEVEL
  value: {{ .context.Values.logLevel | quote }}
{{- if .context.Values.natsAuth.enabled }}
{{- $identity := include "switchyard.natsIdentity" . | fromJson }}
- name: SWITCHYARD_NATS_NKEY
  value: {{ include "switchyard.natsSecretDir" .context }}/nkey
- name: SWITCHYARD_NATS_INBOX_PREFIX
  value: {{ $identity.inboxPrefix | quote }}
{{- end }}
{{- with .context.Values.externalNats.existingSecret }}
{{- if .userKey }}
- name: SWITCHYARD_NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .userKey }}
{{- end }}
{{- if .passwordKey }}
- name: SWITCHYARD_NATS_PASSWORD_FILE
  value: {{ include "switchyard.natsSecretDir" $.context }}/password
{{- end }}
{{- if .tokenKey }}
- name: SWITCHYARD_NATS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .tokenKey }}
{{- end }}
{{- if .credsKey }}
- name: SWITCHYARD_NATS_CREDS
  value: {{ include "switchyard.natsSecretDir" $.context }}/nats.creds
{{- end }}
{{- end }}
{{- end -}}

{{/*
Whether NATS credential files are mounted ("true" or empty): an nkey seed under natsAuth, or the
password or .creds file of externalNats.existingSecret.
*/}}
{{- define "switchyard.natsSecretFiles" -}}
{{- if .Values.natsAuth.enabled -}}
true
{{- else -}}
{{- with .Values.externalNats.existingSecret -}}
{{- if and .name (or .passwordKey .credsKey) -}}
true
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Volume mount of the NATS credential files (empty when there are none; callers use `with`). Call
with the process's NATS identity.
*/}}
{{- define "switchyard.natsSecretVolumeMount" -}}
{{- if include "switchyard.natsSecretFiles" .context -}}
- name: nats-credentials
  mountPath: {{ include "switchyard.natsSecretDir" .context }}
  readOnly: true
{{- end -}}
{{- end -}}

{{/*
Volume of the NATS credential files (empty when there are none; callers use `with`). Call with the
process's NATS identity. Under natsAuth it holds one item of the natsAuth Secret, the process's own
seed: the Secret holds every identity's, and a pod gets no other. Modes 0400 and 0440 both end up
0440 with the pods' fsGroup (the kubelet adds group read): readable by the non-root group 10001, by
nobody else.
*/}}
{{- define "switchyard.natsSecretVolume" -}}
{{- if .context.Values.natsAuth.enabled -}}
{{- $identity := include "switchyard.natsIdentity" . | fromJson -}}
- name: nats-credentials
  secret:
    secretName: {{ required "natsAuth.secretName is required when natsAuth.enabled is true: the Secret made from the directory `switchyard nats-config --out` wrote" .context.Values.natsAuth.secretName }}
    defaultMode: 0400
    items:
      - key: {{ $identity.seedKey }}
        path: nkey
{{- else if include "switchyard.natsSecretFiles" .context -}}
{{- with .context.Values.externalNats.existingSecret -}}
- name: nats-credentials
  secret:
    secretName: {{ .name }}
    defaultMode: 0440
    items:
      {{- if .passwordKey }}
      - key: {{ .passwordKey }}
        path: password
      {{- end }}
      {{- if .credsKey }}
      - key: {{ .credsKey }}
        path: nats.creds
      {{- end }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The restricted container securityContext (Pod Security Standards "restricted"): non-root user
10001 (the image's), read-only root filesystem, no privilege escalation, no capabilities.
*/}}
{{- define "switchyard.restrictedSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Pod-level securityContext: the group that may read mounted Secrets, and the seccomp profile.
*/}}
{{- define "switchyard.podSecurityContext" -}}
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}
