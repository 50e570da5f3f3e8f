#!/usr/bin/env bash
# One sticky pull-request comment per tool: the newest comment whose body starts with MARKER is
# updated in place (created when there is none), and every older one is hidden as outdated.
#
#   github-sticky-comment.sh BODY_FILE MARKER PLAN_FILE
#
# Needs GITHUB_REPOSITORY, GITHUB_EVENT_PATH (the pull_request event) and GH_TOKEN, and the `gh`
# CLI (present on GitHub's runners). With POLICYC_DRY_RUN=1 it calls nothing: the existing
# comments come from $POLICYC_DRY_RUN_COMMENTS (a JSON array like the REST API's, default none)
# and every request it would send is written to PLAN_FILE, one per line.
set -euo pipefail

body=$1
marker=$2
plan=$3
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}
event=${GITHUB_EVENT_PATH:?GITHUB_EVENT_PATH is not set}
dry=${POLICYC_DRY_RUN:-0}
: >"$plan"

pr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pull_request"]["number"])' "$event")
if [[ $(head -c "${#marker}" "$body") != "$marker" ]]; then
    echo "sticky comment: $body does not start with $marker" >&2
    exit 1
fi

if [[ $dry == 1 ]]; then
    comments=$(cat "${POLICYC_DRY_RUN_COMMENTS:-/dev/null}")
    [[ -z $comments ]] && comments='[]'
else
    comments=$(gh api --paginate --slurp "repos/$repo/issues/$pr/comments" | python3 -c 'import json,sys; print(json.dumps([c for page in json.load(sys.stdin) for c in page]))')
fi

# Ours, newest first: "id node_id" per line.
ours=$(python3 -c '
import json, sys
marker = sys.argv[1]
comments = [c for c in json.load(sys.stdin) if c.get("body", "").startswith(marker)]
comments.sort(key=lambda c: (c.get("created_at", ""), c["id"]), reverse=True)
for c in comments:
    print(c["id"], c.get("node_id", ""))
' "$marker" <<<"$comments")

send() {
    echo "$*" >>"$plan"
    [[ $dry == 1 ]] || gh "$@" >/dev/null
}

if [[ -z $ours ]]; then
    send api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body"
else
    newest=true
    while read -r id node_id; do
        if $newest; then
            send api --method PATCH "repos/$repo/issues/comments/$id" -F "body=@$body"
            newest=false
        else
            send api graphql -f "query=mutation { minimizeComment(input: {subjectId: \"$node_id\", classifier: OUTDATED}) { minimizedComment { isMinimized } } }"
        fi
    done <<<"$ours"
fi
echo "sticky comment on #$pr: $(wc -l <"$plan") request(s)$([[ $dry == 1 ]] && echo ' (dry run)')"
