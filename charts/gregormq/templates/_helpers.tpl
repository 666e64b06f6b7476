{{/*
Name of the chart, cut to the 63 characters a label value may have.
*/}}
{{- define "gregormq.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name used as the prefix of every resource. The headless Service adds "-headless", so keep
room for it inside the 63-character DNS label limit.
*/}}
{{- define "gregormq.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "gregormq.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels that select the broker pods; they never change over the release's life (a StatefulSet's
selector is immutable).
*/}}
{{- define "gregormq.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gregormq.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of every resource.
*/}}
{{- define "gregormq.labels" -}}
helm.sh/chart: {{ include "gregormq.chart" . }}
{{ include "gregormq.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gregormq
{{- end }}

{{/*
Name of the headless Service: it gives each pod a stable DNS name and is the seed list.
*/}}
{{- define "gregormq.headlessName" -}}
{{- printf "%s-headless" (include "gregormq.fullname" .) }}
{{- end }}

{{/*
Fully qualified DNS name of the headless Service. It resolves to every pod's address, ready or
not, so it serves as GREGOR_SEEDS from the first pod on.
*/}}
{{- define "gregormq.headlessFqdn" -}}
{{- printf "%s.%s.svc.%s" (include "gregormq.headlessName" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/*
Cluster name handed to the brokers.
*/}}
{{- define "gregormq.clusterName" -}}
{{- default (include "gregormq.fullname" .) .Values.cluster.name }}
{{- end }}

{{/*
Name of the ServiceAccount the pods run as.
*/}}
{{- define "gregormq.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gregormq.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding the cluster key, or "" when the cluster is open.
*/}}
{{- define "gregormq.clusterKeySecret" -}}
{{- if .Values.cluster.key.existingSecret }}
{{- .Values.cluster.key.existingSecret }}
{{- else if .Values.cluster.key.value }}
{{- printf "%s-cluster-key" (include "gregormq.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "gregormq.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
