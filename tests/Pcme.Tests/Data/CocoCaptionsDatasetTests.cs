using Pcme.Data;

namespace Pcme.Tests.Data;

public sealed class CocoCaptionsDatasetTests : IDisposable
{
    readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    // captions_train2014.json layout; ids and order chosen so grouping by image differs from file order.
    const string CaptionsJson = """
        {
          "info": {"description": "fixture"},
          "images": [
            {"id": 10, "file_name": "COCO_train2014_000000000010.png", "width": 4, "height": 3},
            {"id": 20, "file_name": "COCO_train2014_000000000020.jpg", "width": 4, "height": 3},
            {"id": 30, "file_name": "COCO_train2014_000000000030.jpg", "width": 4, "height": 3},
            {"id": 40, "file_name": "COCO_train2014_000000000040.png", "width": 4, "height": 3}
          ],
          "annotations": [
            {"id": 1, "image_id": 20, "caption": "A dog on grass. "},
            {"id": 2, "image_id": 10, "caption": "A cat sleeping."},
            {"id": 3, "image_id": 10, "caption": "   "},
            {"id": 4, "image_id": 99, "caption": "An orphan caption."},
            {"id": 5, "image_id": 30, "caption": "Its file is missing."},
            {"id": 6, "image_id": 20, "caption": "Another dog."},
            {"id": 7, "image_id": 40, "caption": ""}
          ]
        }
        """;

    string WriteCaptionsFixture()
    {
        folder.WriteBytes("train2014/COCO_train2014_000000000010.png", ImageFiles.Solid(4, 3, 200, 10, 10));
        folder.WriteBytes("train2014/COCO_train2014_000000000020.jpg", ImageFiles.Jpeg(4, 3, (_, _) => (10, 200, 10)));
        folder.WriteBytes("train2014/COCO_train2014_000000000040.png", ImageFiles.Solid(4, 3, 1, 2, 3));
        return folder.Write("annotations/captions_train2014.json", CaptionsJson);
    }

    [Fact]
    public void Captions_file_lists_images_in_file_order_and_groups_captions_by_image()
    {
        var json = WriteCaptionsFixture();
        var data = CocoCaptionsDataset.LoadCaptions(json, folder.PathOf("train2014"));

        Assert.Equal("coco-train2014", data.Name);
        Assert.Equal(["10", "20"], data.Images.Select(i => i.Id));
        Assert.Equal([10L, 20L], data.CocoImageIds);
        Assert.Equal(folder.PathOf("train2014", "COCO_train2014_000000000010.png"), data.Images[0].Path);
        Assert.All(data.Images, i => { Assert.Null(i.ClassId); Assert.Null(i.Labels); });
        Assert.Equal(["2", "1", "6"], data.Captions.Select(c => c.Id));
        Assert.Equal([0, 1, 1], data.Captions.Select(c => c.ImageIndex));
        Assert.Equal(["A cat sleeping.", "A dog on grass.", "Another dog."], data.Captions.Select(c => c.Text));

        Assert.IsType<OwnImageRelevance>(data.Relevance);
        Assert.Equal([1], data.Relevance.ImagesFor(2));
        Assert.Equal([1, 2], data.Relevance.CaptionsFor(1));
        Assert.False(data.Relevance.IsRelevant(0, 1));

        var image = data.LoadImage(0);
        Assert.Equal((4, 3), (image.Width, image.Height));
        Assert.Equal(((byte)200, (byte)10, (byte)10), image[3, 2]);
    }

    [Fact]
    public void Captions_file_records_every_skip_with_its_id_and_reason()
    {
        var data = CocoCaptionsDataset.LoadCaptions(WriteCaptionsFixture(), folder.PathOf("train2014"));

        Assert.Equal(5, data.Skipped.Count);
        Assert.Contains(data.Skipped, s => s.Source.Contains("annotation id 3") && s.Reason.Contains("empty"));
        Assert.Contains(data.Skipped, s => s.Source.Contains("annotation id 7") && s.Reason.Contains("empty"));
        Assert.Contains(data.Skipped, s => s.Source.Contains("annotation id 4") && s.Reason.Contains("image id 99"));
        Assert.Contains(data.Skipped, s => s.Source.Contains("image id 30") && s.Reason.Contains("COCO_train2014_000000000030.jpg") && s.Reason.Contains("does not exist") && s.Reason.Contains("1 caption"));
        Assert.Contains(data.Skipped, s => s.Source.Contains("image id 40") && s.Reason.Contains("no usable caption"));
        Assert.All(data.Skipped, s => Assert.Contains("captions_train2014.json", s.Source));
    }

    [Fact]
    public void Without_the_file_check_missing_images_stay_listed_and_fail_when_loaded()
    {
        var json = WriteCaptionsFixture();
        var data = CocoCaptionsDataset.LoadCaptions(json, folder.PathOf("train2014"), new DatasetLoadOptions { SkipMissingImageFiles = false });

        Assert.Equal(["10", "20", "30"], data.Images.Select(i => i.Id));
        var e = Assert.Throws<DataException>(() => data.LoadImage(2));
        Assert.Contains(folder.PathOf("train2014", "COCO_train2014_000000000030.jpg"), e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    // dataset_coco.json layout (Karpathy), with the fields the real file has.
    const string KarpathyJson = """
        {"images": [
          {"filepath": "val2014", "sentids": [0, 1], "filename": "COCO_val2014_000000000101.png", "imgid": 0, "split": "test",
           "sentences": [{"tokens": ["a", "test"], "raw": "A test image.", "imgid": 0, "sentid": 0},
                         {"tokens": ["another"], "raw": "Another test caption.", "imgid": 0, "sentid": 1}], "cocoid": 101},
          {"filepath": "train2014", "sentids": [2], "filename": "COCO_train2014_000000000102.png", "imgid": 1, "split": "train",
           "sentences": [{"tokens": ["train"], "raw": "A train image.", "imgid": 1, "sentid": 2}], "cocoid": 102},
          {"filepath": "val2014", "sentids": [3, 4], "filename": "COCO_val2014_000000000103.png", "imgid": 2, "split": "restval",
           "sentences": [{"tokens": ["rest"], "raw": "A restval image.", "imgid": 2, "sentid": 3},
                         {"tokens": [], "raw": " ", "imgid": 2, "sentid": 4}], "cocoid": 103},
          {"filepath": "val2014", "sentids": [5], "filename": "COCO_val2014_000000000104.png", "imgid": 3, "split": "val",
           "sentences": [{"tokens": ["val"], "raw": "A val image.", "imgid": 3, "sentid": 5}], "cocoid": 104}
        ], "dataset": "coco"}
        """;

    string WriteKarpathyFixture()
    {
        foreach (var (dir, id) in new[] { ("val2014", 101), ("train2014", 102), ("val2014", 103), ("val2014", 104) })
            folder.WriteBytes($"coco/{dir}/COCO_{dir}_{id:D12}.png", ImageFiles.Solid(3, 3, (byte)id, 0, 0));
        return folder.Write("dataset_coco.json", KarpathyJson);
    }

    [Theory]
    [InlineData(KarpathySplit.Test, true, new[] { "101" }, new[] { "0", "1" })]
    [InlineData(KarpathySplit.Train, true, new[] { "102", "103" }, new[] { "2", "3" })]
    [InlineData(KarpathySplit.Train, false, new[] { "102" }, new[] { "2" })]
    [InlineData(KarpathySplit.RestVal, true, new[] { "103" }, new[] { "3" })]
    [InlineData(KarpathySplit.Val, true, new[] { "104" }, new[] { "5" })]
    public void Karpathy_file_selects_the_split(KarpathySplit split, bool withRestVal, string[] imageIds, string[] captionIds)
    {
        var data = CocoCaptionsDataset.LoadKarpathy(WriteKarpathyFixture(), folder.PathOf("coco"), split, new KarpathyLoadOptions { TrainIncludesRestVal = withRestVal });

        Assert.Equal($"coco-karpathy-{split.ToString().ToLowerInvariant()}", data.Name);
        Assert.Equal(imageIds, data.Images.Select(i => i.Id));
        Assert.Equal(captionIds, data.Captions.Select(c => c.Id));
        Assert.All(data.Images, i => Assert.True(File.Exists(i.Path)));
        bool restvalLoaded = data.Images.Any(i => i.Id == "103");
        Assert.Equal(restvalLoaded ? 1 : 0, data.Skipped.Count(s => s.Source.Contains("sentid 4") && s.Reason.Contains("empty")));
    }

    [Fact]
    public void Karpathy_paths_join_root_filepath_and_filename()
    {
        var data = CocoCaptionsDataset.LoadKarpathy(WriteKarpathyFixture(), folder.PathOf("coco"), KarpathySplit.Test);
        Assert.Equal(folder.PathOf("coco", "val2014", "COCO_val2014_000000000101.png"), data.Images[0].Path);
        Assert.Equal(["A test image.", "Another test caption."], data.Captions.Select(c => c.Text));
        Assert.Equal([0, 1], data.Relevance.CaptionsFor(0));
        Assert.Equal(101, data.LoadImage(0)[0, 0].R);
    }

    const string InstancesJson = """
        {"images": [{"id": 10, "file_name": "a.png"}, {"id": 20, "file_name": "b.jpg"}, {"id": 40, "file_name": "c.png"}],
         "annotations": [
           {"id": 1000, "image_id": 10, "category_id": 18, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0, "segmentation": [[0, 0, 1, 1]]},
           {"id": 1001, "image_id": 10, "category_id": 1, "bbox": [0, 0, 1, 1]},
           {"id": 1002, "image_id": 10, "category_id": 18, "bbox": [0, 0, 1, 1]},
           {"id": 1003, "image_id": 20, "category_id": 3, "bbox": [0, 0, 1, 1]},
           {"id": 1004, "image_id": 777, "category_id": 1, "bbox": [0, 0, 1, 1]}],
         "categories": [{"supercategory": "person", "id": 1, "name": "person"},
                        {"supercategory": "vehicle", "id": 3, "name": "car"},
                        {"supercategory": "animal", "id": 18, "name": "dog"}]}
        """;

    [Fact]
    public void Instances_give_multi_hot_labels_by_category_list_position()
    {
        var instances = CocoInstances.Load(folder.Write("instances_train2014.json", InstancesJson));
        Assert.Equal([(1L, "person", 0), (3L, "car", 1), (18L, "dog", 2)], instances.Categories.Select(c => (c.Id, c.Name, c.Index)));
        Assert.Equal([0, 2], instances.LabelsOf(10));
        Assert.Equal([1], instances.LabelsOf(20));
        Assert.Empty(instances.LabelsOf(40));
        var skip = Assert.Single(instances.Skipped);
        Assert.Contains("annotation id 1004", skip.Source);
        Assert.Contains("777", skip.Reason);

        var data = CocoCaptionsDataset.LoadCaptions(WriteCaptionsFixture(), folder.PathOf("train2014")).WithLabels(instances);
        Assert.Equal([0, 2], data.Images[0].Labels);
        Assert.Equal([1], data.Images[1].Labels);
        Assert.Equal(6, data.Skipped.Count);
        Assert.Equal(3, data.Captions.Count);
    }

    [Fact]
    public void Karpathy_splits_take_labels_from_train_and_val_instances_together()
    {
        var data = CocoCaptionsDataset.LoadKarpathy(WriteKarpathyFixture(), folder.PathOf("coco"), KarpathySplit.Train);
        const string categories = """[{"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}]""";
        var train = folder.Write("instances_train2014.json", $$"""{"images": [{"id": 102}], "annotations": [{"id": 1, "image_id": 102, "category_id": 2}], "categories": {{categories}}}""");
        var val = folder.Write("instances_val2014.json", $$"""{"images": [{"id": 101}, {"id": 103}, {"id": 104}], "annotations": [{"id": 2, "image_id": 103, "category_id": 1}], "categories": {{categories}}}""");

        var e = Assert.Throws<DataException>(() => data.WithLabels(CocoInstances.Load(train)));
        Assert.Contains("103", e.Message);
        Assert.Contains("instances_train2014.json", e.Message);
        Assert.Contains("instances_val2014.json", e.Message);

        var labelled = data.WithLabels(CocoInstances.Load(train, val));
        Assert.Equal([[1], [0]], labelled.Images.Select(i => i.Labels!.ToArray()));
    }

    [Fact]
    public void Instances_with_an_unknown_category_name_the_annotation()
    {
        var path = folder.Write("instances_val2014.json", """{"images": [{"id": 1}], "annotations": [{"id": 55, "image_id": 1, "category_id": 9}], "categories": [{"id": 1, "name": "person"}]}""");
        var e = Assert.Throws<DataException>(() => CocoInstances.Load(path));
        Assert.Contains("annotation id 55", e.Message);
        Assert.Contains("category_id 9", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Malformed_json_names_the_file_and_the_line()
    {
        var path = folder.Write("captions_val2014.json", "{\n  \"images\": [\n    {\"id\": 1,, \"file_name\": \"a.jpg\"}\n  ],\n  \"annotations\": []\n}");
        var e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(path, folder.Root));
        Assert.Contains(path, e.Message);
        Assert.Contains("line 3", e.Message);
        Assert.DoesNotContain("LineNumber", e.Message);
    }

    [Fact]
    public void Truncated_json_names_the_file()
    {
        var path = folder.Write("captions_val2014.json", "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"annotations\": [{\"id\": 1, \"ima");
        var e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(path, folder.Root));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Json_of_the_wrong_layout_says_what_was_expected()
    {
        var noAnnotations = folder.Write("a.json", """{"images": [{"id": 1, "file_name": "a.jpg"}]}""");
        var e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(noAnnotations, folder.Root));
        Assert.Contains(noAnnotations, e.Message);
        Assert.Contains("no 'annotations'", e.Message);

        var wrongType = folder.Write("b.json", """{"images": {"id": 1}, "annotations": []}""");
        e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(wrongType, folder.Root));
        Assert.Contains(wrongType, e.Message);
        Assert.Contains("$.images", e.Message);
        Assert.Contains("expected a list", e.Message);
        Assert.DoesNotContain("System.", e.Message);

        var array = folder.Write("c.json", "[1, 2]");
        e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(array, folder.Root));
        Assert.Contains(array, e.Message);
        Assert.Contains("COCO captions file", e.Message);
    }

    [Fact]
    public void Karpathy_and_captions_files_swapped_are_recognised()
    {
        var karpathy = WriteKarpathyFixture();
        var e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(karpathy, folder.Root));
        Assert.Contains("LoadKarpathy", e.Message);

        var captions = WriteCaptionsFixture();
        e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadKarpathy(captions, folder.Root, KarpathySplit.Test));
        Assert.Contains("LoadCaptions", e.Message);

        e = Assert.Throws<DataException>(() => CocoInstances.Load(captions));
        Assert.Contains("no 'categories'", e.Message);
        Assert.Contains("LoadCaptions", e.Message);
    }

    [Fact]
    public void Missing_files_and_folders_are_named()
    {
        string missing = folder.PathOf("nope", "captions_train2014.json");
        var e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(missing, folder.Root));
        Assert.Contains(missing, e.Message);
        Assert.Contains("does not exist", e.Message);

        var json = WriteCaptionsFixture();
        e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(json, folder.PathOf("no-images")));
        Assert.Contains(folder.PathOf("no-images"), e.Message);

        e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(folder.Root, folder.Root));
        Assert.Contains("is a folder", e.Message);
    }

    [Fact]
    public void Duplicate_ids_are_errors_naming_the_id()
    {
        var path = folder.Write("d.json", """{"images": [{"id": 7, "file_name": "a.jpg"}, {"id": 7, "file_name": "b.jpg"}], "annotations": []}""");
        var e = Assert.Throws<DataException>(() => CocoCaptionsDataset.LoadCaptions(path, folder.Root, new DatasetLoadOptions { SkipMissingImageFiles = false }));
        Assert.Contains("image id 7", e.Message);
        Assert.Contains(path, e.Message);
    }
}
