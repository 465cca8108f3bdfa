//! The web UI's two languages: every string in English and 简体中文 side by
//! side (a key without both cannot compile), the choice of language for a
//! request, and numbers and times written the way each language writes them.

use axum::http::{HeaderMap, header};
use serde::Serialize;

/// A UI language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Lang {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh")]
    Zh,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        if code.starts_with("zh") {
            Some(Lang::Zh)
        } else if code.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-Hans",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        }
    }

    /// The first of Accept-Language's languages that the UI speaks.
    pub fn from_accept_language(headers: &HeaderMap) -> Option<Lang> {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())?;
        let mut ranked: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let q =
                    pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, lang)| *lang)
    }
}

macro_rules! strings {
    ($($key:ident: $en:literal, $zh:literal;)*) => {
        /// Every string the pages show, in one language.
        #[derive(Debug)]
        pub struct Strings {
            $(pub $key: &'static str,)*
        }

        pub static EN: Strings = Strings { $($key: $en,)* };
        pub static ZH: Strings = Strings { $($key: $zh,)* };

        impl Strings {
            /// A string by its key's name (for the scripts' share of the catalogue).
            pub fn get(&self, key: &str) -> Option<&'static str> {
                match key {
                    $(stringify!($key) => Some(self.$key),)*
                    _ => None,
                }
            }

            pub const KEYS: &'static [&'static str] = &[$(stringify!($key)),*];
        }
    };
}

strings! {
    // Frame and navigation
    skip_to_content: "Skip to content", "跳到正文";
    nav_label: "Main", "主导航";
    nav_discover: "Discover", "发现";
    nav_following: "Following", "关注";
    nav_compose: "Post", "发布";
    nav_notifications: "Notifications", "消息";
    nav_me: "Me", "我";
    nav_settings: "Settings", "设置";
    search_placeholder: "Search notes, people, tags", "搜索笔记、用户、话题";
    search: "Search", "搜索";
    sign_in: "Sign in", "登录";
    sign_up: "Sign up", "注册";
    sign_out: "Sign out", "退出登录";
    switch_language: "中文", "English";
    switch_language_label: "切换到中文", "Switch to English";
    load_more: "Load more", "加载更多";
    loading: "Loading…", "加载中…";
    end_of_list: "You're all caught up", "没有更多了";
    home: "Home", "首页";
    back: "Back", "返回";
    cancel: "Cancel", "取消";
    save: "Save", "保存";
    saved: "Saved", "已保存";
    create: "Create", "创建";
    remove: "Remove", "移除";
    delete: "Delete", "删除";
    close: "Close", "关闭";
    unread_badge: "unread", "条未读";
    welcome_title: "Share what you love, in any language", "分享你的生活，不分语言";
    welcome_text: "Photo and video notes from people who write in Chinese and English.", "来自中文和英文用户的图文与视频笔记。";

    // Cards and feeds
    like: "Like", "点赞";
    unlike: "Unlike", "取消点赞";
    likes: "Likes", "赞";
    liked_by_you: "You liked this", "你已点赞";
    trending_tags: "Trending tags", "热门话题";
    recommended: "For you", "推荐";
    discover_title: "Discover", "发现";
    discover_empty: "Nothing here yet. Be the first to post a note!", "这里还什么都没有，来发布第一篇笔记吧！";
    following_title: "Following", "关注";
    following_empty: "Notes from people you follow appear here. Find people on Discover.", "你关注的人发布的笔记会显示在这里。去发现页看看吧。";
    following_signed_out: "Sign in to see notes from people you follow.", "登录后查看你关注的人的笔记。";
    tag_title: "Tag", "话题";
    tag_empty: "No notes with this tag yet.", "这个话题还没有笔记。";
    follow_tag: "Follow tag", "关注话题";
    unfollow_tag: "Following tag", "已关注话题";
    video_badge: "Video", "视频";
    photos_badge: "photos", "张图片";
    untitled: "Note", "笔记";

    // Profiles and boards
    followers: "Followers", "粉丝";
    following: "Following", "关注";
    notes: "Notes", "笔记";
    boards: "Boards", "专辑";
    collected_notes: "Collected", "收藏";
    follow: "Follow", "关注";
    unfollow: "Unfollow", "取消关注";
    followed: "Following", "已关注";
    follow_requested: "Requested", "已申请";
    follows_you: "Follows you", "关注了你";
    edit_profile: "Edit profile", "编辑资料";
    no_notes: "No notes yet.", "还没有笔记。";
    private_profile: "This account is private. Follow it to see its notes.", "这是私密账号，关注后才能看到笔记。";
    no_boards: "No boards yet.", "还没有专辑。";
    board_private: "Only you can see this board", "仅自己可见";
    board_empty: "Nothing collected here yet.", "这个专辑还没有收藏。";
    board_by: "A board by", "专辑作者";
    notes_in_board: "notes", "篇笔记";
    joined: "Joined", "加入于";
    reads: "Reads", "阅读语言";

    // Note page
    note_title: "Note", "笔记";
    previous_image: "Previous image", "上一张";
    next_image: "Next image", "下一张";
    image_position: "Image {n} of {total}", "第 {n} 张，共 {total} 张";
    show_image: "Show image {n}", "显示第 {n} 张";
    gallery_label: "Photos", "图片";
    video_label: "Video", "视频";
    subtitles: "Subtitles", "字幕";
    collect: "Collect", "收藏";
    collected: "Collected", "已收藏";
    uncollect: "Remove from collection", "取消收藏";
    share: "Share", "分享";
    link_copied: "Link copied", "链接已复制";
    copy_failed: "Copy this link:", "请复制这个链接：";
    choose_board: "Collect into a board", "收藏到专辑";
    default_board: "Collected (default)", "默认收藏";
    new_board: "New board", "新建专辑";
    board_name: "Board name", "专辑名称";
    board_public: "Show on my profile", "在个人主页展示";
    views: "views", "次浏览";
    edited: "edited", "已编辑";
    comments: "Comments", "评论";
    comments_count: "{n} comments", "共 {n} 条评论";
    no_comments: "No comments yet. Be the first!", "还没有评论，快来抢沙发！";
    add_comment: "Say something nice…", "说点什么…";
    comment_label: "Your comment", "你的评论";
    send: "Send", "发送";
    reply: "Reply", "回复";
    reply_to: "Reply to {name}", "回复 {name}";
    show_more_replies: "Show more replies ({n})", "展开更多回复（{n}）";
    pinned: "Pinned", "置顶";
    author_badge: "Author", "作者";
    pin: "Pin", "置顶";
    unpin: "Unpin", "取消置顶";
    attach_photo: "Add a photo", "添加图片";
    remove_photo: "Remove photo", "移除图片";
    photo_wall: "Photo comments", "图片评论";
    photo_from: "Photo from {name}", "{name} 的图片";
    sign_in_to_comment: "Sign in to comment", "登录后参与评论";
    sign_in_to_act: "Sign in to like, collect and follow", "登录后才能点赞、收藏和关注";
    delete_note: "Delete note", "删除笔记";
    confirm_delete: "Delete this note? This cannot be undone.", "确定删除这篇笔记吗？删除后无法恢复。";
    deleted: "Deleted", "已删除";
    vis_label_private: "Followers only", "仅粉丝可见";
    vis_label_direct: "Only people mentioned", "仅提到的人可见";
    vis_label_unlisted: "Not in feeds", "不在推荐中展示";
    sort_hot: "Top", "最热";
    sort_new: "Newest", "最新";
    sort_comments: "Sort comments", "评论排序";
    comment_sent: "Comment posted", "评论已发布";

    // Composer
    compose_title: "New note", "发布笔记";
    pick_media: "Photos or a video", "图片或视频";
    drop_here: "Drag photos here, or choose files", "把图片拖到这里，或点击选择";
    choose_files: "Choose files", "选择文件";
    media_rules: "Up to 18 photos, or one video", "最多 18 张图片，或 1 个视频";
    alt_text: "Description (for people who can't see it)", "图片描述（方便视障用户）";
    move_earlier: "Move earlier", "前移";
    move_later: "Move later", "后移";
    title: "Title", "标题";
    title_placeholder: "A title gets more likes", "填写标题会有更多赞哦";
    body: "Text", "正文";
    body_placeholder: "Share your story… add #tags", "分享你的故事… 添加 #话题";
    visibility: "Who can see it", "谁可以看";
    vis_public: "Everyone", "公开";
    vis_unlisted: "Everyone, but not in feeds", "公开，但不进入推荐";
    vis_private: "Followers only", "仅粉丝";
    vis_direct: "Only me and people I mention", "仅自己和提到的人";
    note_language: "Language of the note", "笔记语言";
    lang_auto: "Detect automatically", "自动识别";
    lang_zh: "Chinese", "中文";
    lang_en: "English", "英文";
    publish: "Publish", "发布";
    publishing: "Publishing…", "发布中…";
    uploading: "Uploading", "上传中";
    processing: "Processing…", "处理中…";
    ready: "Ready", "已就绪";
    tag_suggestions: "Suggested tags", "推荐话题";
    over_limit: "Too long", "超出字数";
    need_content: "Add a photo, a video or some text.", "请添加图片、视频或文字。";
    wait_for_uploads: "Wait until the uploads finish.", "请等待上传完成。";
    too_many_files: "A note takes at most 18 photos.", "一篇笔记最多 18 张图片。";
    mixed_media: "A note has photos or one video, not both.", "一篇笔记只能是图片，或一个视频。";
    err_file_too_large: "This file is too large.", "文件太大。";
    err_unsupported_media_type: "This kind of file can't be posted. Use JPEG, PNG, GIF, WebP, MP4, MOV or WebM.", "不支持这种文件。请使用 JPEG、PNG、GIF、WebP、MP4、MOV 或 WebM。";
    err_image_too_large: "This image has too many pixels.", "图片像素太多。";
    err_file_empty: "This file is empty.", "文件是空的。";
    err_video_processing_unavailable: "This server can't process videos right now.", "本站暂时无法处理视频。";
    err_media_unreadable: "This file is damaged or can't be read.", "文件已损坏或无法读取。";
    err_video_too_long: "This video is too long.", "视频太长。";
    err_video_too_large: "This video's picture is too large.", "视频分辨率太高。";
    err_video_unreadable: "This video is damaged or can't be read.", "视频已损坏或无法读取。";
    err_video_processing_timeout: "This video took too long to process.", "视频处理超时。";
    err_rate_limited: "Too many requests. Wait a moment and try again.", "操作太频繁，请稍后再试。";
    err_generic: "Something went wrong. Try again.", "出错了，请重试。";
    err_network: "Can't reach the server. Check your connection.", "无法连接服务器，请检查网络。";

    // Notifications
    notifications_title: "Notifications", "消息通知";
    no_notifications: "Nothing new yet.", "暂时没有新消息。";
    n_favourite: "liked your note", "赞了你的笔记";
    n_collect: "collected your note", "收藏了你的笔记";
    n_comment: "commented on your note", "评论了你的笔记";
    n_reply: "replied to your comment", "回复了你的评论";
    n_mention: "mentioned you", "提到了你";
    n_follow: "followed you", "关注了你";
    n_follow_request: "asked to follow you", "请求关注你";
    and_others: "and {n} others", "等 {n} 人";
    accept: "Accept", "同意";
    reject: "Decline", "拒绝";

    // Search
    search_title: "Search", "搜索";
    search_notes: "Notes", "笔记";
    search_people: "People", "用户";
    search_tags: "Tags", "话题";
    search_prompt: "Type a word, a name or a #tag.", "输入关键词、用户名或 #话题。";
    no_results: "Nothing found.", "没有找到结果。";
    search_scope_note: "Full-text search of notes is not available on this server yet; people are found by username and tags by name.", "本站暂不支持笔记全文搜索；可以按用户名找人、按名称找话题。";

    // Settings
    settings_title: "Settings", "设置";
    profile: "Profile", "个人资料";
    display_name: "Display name", "昵称";
    bio: "Bio", "简介";
    languages_i_read: "Languages I read", "我能阅读的语言";
    ui_language: "App language", "界面语言";
    ui_language_auto: "Same as my browser", "跟随浏览器";
    privacy: "Privacy", "隐私";
    locked: "Approve new followers myself", "新粉丝需要我同意";
    sessions: "Where you're signed in", "登录设备";
    this_browser: "This browser", "当前浏览器";
    signed_in_at: "Signed in", "登录时间";
    unknown_browser: "Unknown browser", "未知浏览器";
    log_out_everywhere: "Log out everywhere", "退出所有设备";
    log_out_everywhere_help: "Ends every browser session and revokes every app's access, including this one.", "结束所有浏览器登录并撤销所有应用的授权（包括当前浏览器）。";
    your_data: "Your data", "我的数据";
    data_export: "Export my data", "导出我的数据";
    account_deletion: "Delete my account", "注销账号";
    not_available_yet: "Not available yet: this version of the server does not have it.", "暂未开放：本站当前版本还不支持。";
    choose_one_language: "Choose at least one language you read.", "请至少选择一种阅读语言。";

    // Sign up, sign in, authorize
    sign_in_title: "Sign in", "登录";
    login_label: "Username or e-mail", "用户名或邮箱";
    password: "Password", "密码";
    no_account: "No account yet?", "还没有账号？";
    wrong_login: "Wrong username or password.", "用户名或密码错误。";
    sign_up_title: "Create your account", "创建账号";
    username: "Username", "用户名";
    username_help: "Letters a–z, digits and _", "字母、数字和下划线";
    password_help: "At least 8 characters; a phrase of unrelated words is best.", "至少 8 个字符；几个不相关的词组成的短语最安全。";
    create_account: "Create account", "创建账号";
    have_account: "Already have an account?", "已有账号？";
    registrations_closed: "This server is not accepting new accounts.", "本站暂不开放注册。";
    authorize_title: "Authorize {app}?", "授权 {app}？";
    signed_in_as: "Signed in as", "当前账号";
    app_asks: "{app} asks to:", "{app} 请求以下权限：";
    authorize: "Authorize", "授权";
    deny: "Deny", "拒绝";
    code_title: "Authorization code", "授权码";
    code_help: "Copy this code into {app}:", "请把授权码复制到 {app}：";
    error_title: "Something went wrong", "出错了";
    not_found_title: "Not found", "找不到页面";
    not_found_text: "This page doesn't exist, or you can't see it.", "页面不存在，或你没有权限查看。";

    // Times
    just_now: "just now", "刚刚";
    minutes_ago: "{n}m ago", "{n}分钟前";
    hours_ago: "{n}h ago", "{n}小时前";
    days_ago: "{n}d ago", "{n}天前";
}

/// The keys the page scripts use; sent with every page as JSON.
pub const SCRIPT_KEYS: &[&str] = &[
    "like",
    "unlike",
    "collect",
    "collected",
    "link_copied",
    "copy_failed",
    "reply_to",
    "send",
    "cancel",
    "loading",
    "load_more",
    "end_of_list",
    "follow",
    "unfollow",
    "followed",
    "follow_requested",
    "follow_tag",
    "unfollow_tag",
    "uploading",
    "processing",
    "ready",
    "remove",
    "move_earlier",
    "move_later",
    "alt_text",
    "too_many_files",
    "mixed_media",
    "need_content",
    "wait_for_uploads",
    "publishing",
    "publish",
    "over_limit",
    "err_file_too_large",
    "err_unsupported_media_type",
    "err_image_too_large",
    "err_file_empty",
    "err_video_processing_unavailable",
    "err_media_unreadable",
    "err_video_too_long",
    "err_rate_limited",
    "err_video_too_large",
    "err_video_unreadable",
    "err_video_processing_timeout",
    "err_generic",
    "err_network",
    "comment_sent",
    "pin",
    "unpin",
    "pinned",
    "deleted",
    "confirm_delete",
    "image_position",
    "new_board",
    "default_board",
    "saved",
    "remove_photo",
    "board_name",
    "create",
    "choose_board",
    "uncollect",
];

impl Strings {
    /// The scripts' strings as JSON, safe inside a `<script type="application/json">`.
    pub fn script_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = SCRIPT_KEYS
            .iter()
            .filter_map(|k| self.get(k).map(|v| ((*k).to_owned(), serde_json::Value::from(v))))
            .collect();
        serde_json::Value::Object(map).to_string().replace('<', "\\u003c")
    }
}

/// Fills `{name}` in a catalogue string.
pub fn fill(template: &str, name: &str, value: &str) -> String {
    template.replace(&format!("{{{name}}}"), value)
}

/// A count the way each language abbreviates it: 12,345 is "1.2万" and "12.3K".
pub fn count(n: i64, lang: Lang) -> String {
    fn short(value: f64, unit: &str) -> String {
        let text = if value < 100.0 { format!("{:.1}", (value * 10.0).floor() / 10.0) } else { format!("{value:.0}") };
        format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
    }
    let v = n as f64;
    match lang {
        Lang::Zh if n >= 100_000_000 => short(v / 1e8, "亿"),
        Lang::Zh if n >= 10_000 => short(v / 1e4, "万"),
        Lang::En if n >= 1_000_000 => short(v / 1e6, "M"),
        Lang::En if n >= 1_000 => short(v / 1e3, "K"),
        _ => n.to_string(),
    }
}

/// When something happened, relative while recent and a date after a week.
pub fn when(ms: i64, now_ms: i64, lang: Lang) -> String {
    let t = lang.strings();
    let seconds = (now_ms - ms).max(0) / 1000;
    match seconds {
        0..60 => t.just_now.to_owned(),
        60..3600 => fill(t.minutes_ago, "n", &(seconds / 60).to_string()),
        3600..86_400 => fill(t.hours_ago, "n", &(seconds / 3600).to_string()),
        86_400..604_800 => fill(t.days_ago, "n", &(seconds / 86_400).to_string()),
        _ => date(ms, now_ms, lang),
    }
}

/// A calendar date: "Nov 20" / "11月20日" this year, with the year otherwise.
pub fn date(ms: i64, now_ms: i64, lang: Lang) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let now = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, m, d) = (at.year(), u8::from(at.month()), at.day());
    match lang {
        Lang::Zh if y == now.year() => format!("{m}月{d}日"),
        Lang::Zh => format!("{y}年{m}月{d}日"),
        Lang::En => {
            const MONTHS: [&str; 12] =
                ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let month = MONTHS[usize::from(m - 1)];
            if y == now.year() { format!("{month} {d}") } else { format!("{month} {d}, {y}") }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_han(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    /// Every key has a Chinese string that really is Chinese and differs from
    /// the English one (so nothing was left untranslated by copying), except
    /// the language switcher, which names the other language on purpose.
    #[test]
    fn every_string_is_translated() {
        let mut untranslated = Vec::new();
        for key in Strings::KEYS {
            let (en, zh) = (EN.get(key).unwrap(), ZH.get(key).unwrap());
            // The switcher names the other language in that language, so that
            // someone who reads only it can find the way back.
            let switcher = *key == "switch_language" || *key == "switch_language_label";
            if en.trim().is_empty() || zh.trim().is_empty() {
                untranslated.push(format!("{key}: empty"));
            } else if !switcher && (en == zh || !has_han(zh)) {
                untranslated.push(format!("{key}: {zh:?}"));
            } else if has_han(en) && !switcher {
                untranslated.push(format!("{key}: English string has Chinese: {en:?}"));
            }
            for placeholder in ["{n}", "{total}", "{name}", "{app}"] {
                if en.contains(placeholder) != zh.contains(placeholder) {
                    untranslated.push(format!("{key}: {placeholder} in only one language"));
                }
            }
        }
        assert!(untranslated.is_empty(), "untranslated strings:\n{}", untranslated.join("\n"));
    }

    /// The scripts ask only for keys that exist, and only for keys listed for them.
    #[test]
    fn script_keys_exist_and_scripts_use_only_them() {
        for key in SCRIPT_KEYS {
            assert!(EN.get(key).is_some(), "SCRIPT_KEYS names unknown key {key}");
        }
        let script = include_str!("../../static/app.js");
        let mut missing = Vec::new();
        for (i, _) in script.match_indices("t('") {
            let before = script[..i].chars().next_back().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' || before == '.' {
                continue;
            }
            let rest = &script[i + 3..];
            let key = &rest[..rest.find('\'').unwrap_or(0)];
            if !SCRIPT_KEYS.contains(&key) {
                missing.push(key.to_owned());
            }
        }
        assert!(missing.is_empty(), "app.js uses keys not sent to it: {missing:?}");
    }

    #[test]
    fn counts_per_language() {
        assert_eq!(count(999, Lang::En), "999");
        assert_eq!(count(1_234, Lang::En), "1.2K");
        assert_eq!(count(12_000, Lang::En), "12K");
        assert_eq!(count(12_345, Lang::Zh), "1.2万");
        assert_eq!(count(9_999, Lang::Zh), "9999");
        assert_eq!(count(3_450_000, Lang::En), "3.4M");
        assert_eq!(count(250_000_000, Lang::Zh), "2.5亿");
        assert_eq!(count(1_000_000, Lang::Zh), "100万");
    }

    #[test]
    fn times_per_language() {
        let now = 1_763_800_000_000; // 2025-11-22
        assert_eq!(when(now - 5_000, now, Lang::En), "just now");
        assert_eq!(when(now - 5 * 60_000, now, Lang::Zh), "5分钟前");
        assert_eq!(when(now - 3 * 3_600_000, now, Lang::En), "3h ago");
        assert_eq!(when(now - 10 * 86_400_000, now, Lang::Zh), "11月12日");
        assert_eq!(when(now - 10 * 86_400_000, now, Lang::En), "Nov 12");
        assert_eq!(when(now - 400 * 86_400_000, now, Lang::En), "Oct 18, 2024");
        assert_eq!(when(now - 400 * 86_400_000, now, Lang::Zh), "2024年10月18日");
    }

    #[test]
    fn accept_language_picks_a_supported_language_by_weight() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, "fr-FR, en;q=0.5, zh-CN;q=0.8".parse().unwrap());
        assert_eq!(Lang::from_accept_language(&headers), Some(Lang::Zh));
        headers.insert(header::ACCEPT_LANGUAGE, "de".parse().unwrap());
        assert_eq!(Lang::from_accept_language(&headers), None);
    }
}
